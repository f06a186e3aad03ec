-- The contact-center KPIs (docs/counting.md, "Contact-center KPIs"). Each
-- conversation carries the flags they are counted from, and the
-- thresholds it was judged by (KPI_SHORT_ABANDON and
-- KPI_SERVICE_LEVEL_THRESHOLD, in ms). external_number is the customer's
-- number (the entry leg's, else the earliest leg's), which repeats and
-- recoveries are matched by. Once this is applied, the job rebuilds every
-- target-month of the derived tables (Store.Migrate).
ALTER TABLE conversations ADD COLUMN external_number String DEFAULT '';

ALTER TABLE conversations ADD COLUMN short_abandoned UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN abandoned UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN answered_in_threshold UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN handle_ms UInt64 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN transferred UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN repeat_contact UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN recovered UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN recovery_ms UInt64 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN short_abandon_ms UInt32 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN service_level_ms UInt32 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN external_number String DEFAULT '';

ALTER TABLE conversations_stage ADD COLUMN short_abandoned UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN abandoned UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN answered_in_threshold UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN handle_ms UInt64 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN transferred UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN repeat_contact UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN recovered UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN recovery_ms UInt64 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN short_abandon_ms UInt32 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN service_level_ms UInt32 DEFAULT 0;

-- Per agent and day, beside the counts: the time the agent's legs were on
-- hold (what events tell) and the legs the agent transferred.
ALTER TABLE agent_daily ADD COLUMN hold_ms UInt64 DEFAULT 0;

ALTER TABLE agent_daily ADD COLUMN transferred_calls UInt32 DEFAULT 0;

ALTER TABLE agent_daily_stage ADD COLUMN hold_ms UInt64 DEFAULT 0;

ALTER TABLE agent_daily_stage ADD COLUMN transferred_calls UInt32 DEFAULT 0;

-- The KPIs' figures per target and reporting-zone day of the
-- conversations' starts, summed from conversations: what the dashboards
-- read for the whole days of a range. Every column but outbound counts
-- inbound conversations. Recomputed with conversations (Store.Recompute),
-- a whole target-month at a time like the other derived tables; day_start
-- and day_end are the day's bounds, as in calls_daily.
CREATE TABLE IF NOT EXISTS target_daily
(
    target_type           Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id             UInt64,
    day                   Date,
    day_start             DateTime('UTC'),
    day_end               DateTime('UTC'),
    inbound               UInt32,
    outbound              UInt32,
    answered              UInt32,
    abandoned             UInt32,
    short_abandoned       UInt32,
    answered_in_threshold UInt32,
    total_wait_ms         UInt64,
    total_handle_ms       UInt64,
    transferred           UInt32,
    repeat_contacts       UInt32,
    recovered             UInt32,
    total_recovery_ms     UInt64,
    short_abandon_ms      UInt32,
    service_level_ms      UInt32,
    version               UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY (target_type, target_id, toYYYYMM(day))
ORDER BY (target_type, target_id, day);

CREATE TABLE IF NOT EXISTS target_daily_stage AS target_daily;

-- The repeat and recovery flags of one recompute of a target-month,
-- computed by the job from the conversations' numbers and starts, before
-- they are written into the month's conversations (Store.recomputeKPIs).
-- A working table: each recompute replaces its target-month.
CREATE TABLE IF NOT EXISTS conversation_flags_stage
(
    target_type     Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id       UInt64,
    month           UInt32,
    conversation_id UInt64,
    repeat_contact  UInt8,
    recovered       UInt8,
    recovery_ms     UInt64
)
ENGINE = MergeTree
PARTITION BY (target_type, target_id, month)
ORDER BY conversation_id;
