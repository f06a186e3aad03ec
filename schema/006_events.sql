-- Dialpad's real-time events (webhooks). The call list stays the source
-- of completeness; events add freshness and what the list lacks: when a
-- caller started waiting in the queue, when an agent first rang, how long
-- the caller was on hold.

-- Every accepted call event, as received. A delivery Dialpad repeats has
-- the same key, so it leaves one row (read with FINAL).
CREATE TABLE IF NOT EXISTS call_events
(
    call_id                 UInt64,
    state                   String,
    event_ms                Int64,
    event_at                DateTime('UTC'),
    conversation_id         UInt64,
    direction               String,
    started_ms              Int64,
    leg_target_type         String,
    leg_target_id           UInt64,
    entry_point_target_type String,
    entry_point_target_id   UInt64,
    queued_ms               Int64,
    first_rang_ms           Int64,
    hold_ms                 UInt64,
    received_at             DateTime('UTC'),
    received_ms             Int64,
    payload                 String,
    payload_hash            UInt64,
    version                 UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(event_at)
ORDER BY (call_id, event_ms, state, payload_hash);

-- The latest state of each leg per target, by event time: what the
-- wallboard reads. A leg's row is replaced by the one of a later event
-- (version: event time, then the order of states), so late and repeated
-- deliveries change nothing. A leg whose last event is older than its
-- expires_at no longer counts as live. Partitioned by the leg's start,
-- which every event of the leg carries, so that old days can be dropped.
CREATE TABLE IF NOT EXISTS live_calls
(
    target_type     Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id       UInt64,
    call_id         UInt64,
    conversation_id UInt64,
    is_entry_leg    UInt8,
    direction       String,
    state           String,
    ended           UInt8,
    started_at      DateTime('UTC'),
    waiting_since   DateTime('UTC'),
    connected_at    Nullable(DateTime('UTC')),
    agent_id        UInt64,
    agent_name      String,
    contact_name    String,
    external_number String,
    event_at        DateTime('UTC'),
    expires_at      DateTime('UTC'),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(started_at)
ORDER BY (target_type, target_id, call_id);

-- Call-center agents' on-duty status as intervals: a row starts when the
-- status changed and ends when the next change of the same agent started
-- (ended_ms 0: the current status).
CREATE TABLE IF NOT EXISTS agent_status
(
    agent_id        UInt64,
    agent_name      String,
    status          String,
    on_duty         UInt8,
    call_center_ids Array(UInt64),
    reason          String,
    started_ms      Int64,
    started_at      DateTime('UTC'),
    ended_ms        Int64,
    ended_at        Nullable(DateTime('UTC')),
    event_ms        Int64,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (agent_id, started_ms);

-- What only events tell about a leg, kept beside the list's fields: a
-- re-read from the list carries them over (they are taken from
-- call_events whenever a leg is written). source tells whether the
-- stored copy came from the list or from an event.
ALTER TABLE calls ADD COLUMN queued_ms Int64 DEFAULT 0;

ALTER TABLE calls ADD COLUMN first_rang_ms Int64 DEFAULT 0;

ALTER TABLE calls ADD COLUMN hold_ms UInt64 DEFAULT 0;

ALTER TABLE calls ADD COLUMN source Enum8('list' = 1, 'event' = 2) DEFAULT 'list';

-- Per conversation: the earliest queue start and first ring of its legs,
-- and the hold time of its agents' legs (else its entry leg's).
ALTER TABLE conversations ADD COLUMN queued_ms Int64 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN first_rang_ms Int64 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN hold_ms UInt64 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN queued_ms Int64 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN first_rang_ms Int64 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN hold_ms UInt64 DEFAULT 0;
