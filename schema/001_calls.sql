-- One row per leg per target: a row of Dialpad's call list, with the
-- figures of the call model (conversation, agent, status, day) beside the
-- raw fields. Re-loading a leg writes a newer version of the same key;
-- read with FINAL to see one row per leg.
CREATE TABLE IF NOT EXISTS calls
(
    target_type             Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id               UInt64,
    call_id                 UInt64,
    conversation_id         UInt64,
    is_entry_leg            UInt8,
    direction               Enum8('inbound' = 1, 'outbound' = 2),
    status                  Enum8('completed' = 1, 'missed' = 2, 'voicemail' = 3, 'cancelled' = 4),
    agent_id                UInt64,
    agent_name              String,
    started_at              DateTime('UTC'),
    started_ms              Int64,
    day                     Date,
    duration_ms             UInt64,
    total_duration_ms       UInt64,
    date_rang               Nullable(DateTime('UTC')),
    date_connected          Nullable(DateTime('UTC')),
    connected_ms            Int64,
    date_ended              Nullable(DateTime('UTC')),
    state                   String,
    leg_target_type         String,
    leg_target_id           UInt64,
    leg_target_name         String,
    contact_id              UInt64,
    contact_name            String,
    contact_phone           String,
    contact_email           String,
    contact_type            String,
    external_number         String,
    internal_number         String,
    entry_point_call_id     UInt64,
    entry_point_target_type String,
    entry_point_target_id   UInt64,
    master_call_id          UInt64,
    operator_call_id        UInt64,
    group_id                String,
    was_recorded            UInt8,
    is_transferred          UInt8,
    has_voicemail           UInt8,
    mos_score               Nullable(Float64),
    labels                  Array(String),
    csat_score              String,
    raw                     String,
    loaded_at               DateTime('UTC'),
    version                 UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (target_type, target_id, started_at, call_id);

-- Daily activity per agent (the legs whose target is a user), recomputed
-- from the deduplicated legs of every day a load touched.
CREATE TABLE IF NOT EXISTS agent_daily
(
    target_type       Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id         UInt64,
    day               Date,
    agent_id          UInt64,
    agent_name        String,
    total_calls       UInt32,
    inbound_calls     UInt32,
    outbound_calls    UInt32,
    completed_calls   UInt32,
    missed_calls      UInt32,
    voicemail_calls   UInt32,
    cancelled_calls   UInt32,
    total_duration_ms UInt64,
    avg_duration_ms   UInt64,
    version           UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (target_type, target_id, day, agent_id);

-- The customer's call: all legs with one conversation_id. Its start (and
-- so its day) can move earlier when an earlier leg arrives late, so the
-- table is not partitioned by time: a key that never changes is what lets
-- FINAL keep one row per conversation.
CREATE TABLE IF NOT EXISTS conversations
(
    target_type      Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id        UInt64,
    conversation_id  UInt64,
    direction        Enum8('inbound' = 1, 'outbound' = 2),
    started_at       DateTime('UTC'),
    day              Date,
    answered         UInt8,
    answered_by      UInt64,
    answered_by_name String,
    outcome          Enum8('answered' = 1, 'missed' = 2, 'voicemail' = 3, 'cancelled' = 4),
    wait_ms          UInt64,
    talk_ms          UInt64,
    legs             UInt32,
    contact_name     String,
    contact_phone    String,
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (target_type, target_id, conversation_id);

-- The operators (users and rooms) of each target, as last listed.
CREATE TABLE IF NOT EXISTS agents
(
    target_type   Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id     UInt64,
    agent_id      UInt64,
    kind          String,
    display_name  String,
    first_name    String,
    last_name     String,
    emails        Array(String),
    phone_numbers Array(String),
    role          String,
    state         String,
    seen_at       DateTime('UTC'),
    version       UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (target_type, target_id, agent_id);

-- Items of the call list that could not be decoded or broke an invariant.
CREATE TABLE IF NOT EXISTS rejected_calls
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    raw_hash    UInt64,
    call_id     UInt64,
    reason      String,
    raw         String,
    run_id      String,
    seen_at     DateTime('UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (target_type, target_id, raw_hash);
