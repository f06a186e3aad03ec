-- Agent time and 15-minute intervals (docs/counting.md, "Agent time" and
-- "Intervals"). An interval starts at a UTC quarter hour (interval_start)
-- and lasts 15 minutes; day is the reporting-zone day it starts in. Every
-- zone's midnight is a UTC quarter hour, so an interval lies in one day.

-- Per agent and interval: the ms the agent spent in each on-duty status,
-- from agent_status (a status lasts until the agent's next; the current
-- one until the last recount). unknown_ms is time the job knows it missed
-- (a gap the duty-status read repaired). The unavailable ms are also
-- split by the agent's off-duty reason: unavailable_reason_ms[i] is the
-- time with reason unavailable_reasons[i] ('' when none was given).
-- Recounted by the job whenever statuses arrive and as time passes; a
-- recount writes the same key with a newer version (read with FINAL).
CREATE TABLE IF NOT EXISTS agent_intervals
(
    agent_id              UInt64,
    agent_name            String,
    interval_start        DateTime('UTC'),
    day                   Date,
    available_ms          UInt32,
    busy_ms               UInt32,
    occupied_ms           UInt32,
    wrapup_ms             UInt32,
    unavailable_ms        UInt32,
    unknown_ms            UInt32,
    unavailable_reasons   Array(String),
    unavailable_reason_ms Array(UInt32),
    version               UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(interval_start)
ORDER BY (agent_id, interval_start);

-- Per call-center target, agent and interval: the ms the agent was on
-- duty for that call center (it was in the status's call_center_ids).
-- Staffed agents of an interval = sum(on_duty_ms) / 900000.
CREATE TABLE IF NOT EXISTS agent_duty_intervals
(
    target_type    Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id      UInt64,
    agent_id       UInt64,
    interval_start DateTime('UTC'),
    day            Date,
    on_duty_ms     UInt32,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(interval_start)
ORDER BY (target_type, target_id, agent_id, interval_start);

-- agent_intervals and agent_duty_intervals summed per reporting-zone day
-- (day_start and day_end: the day's bounds, as in calls_daily), written
-- by the job with them: what the dashboards read for the whole days of a
-- range, so that their cost does not grow with the intervals.
CREATE TABLE IF NOT EXISTS agent_time_daily
(
    agent_id              UInt64,
    agent_name            String,
    day                   Date,
    day_start             DateTime('UTC'),
    day_end               DateTime('UTC'),
    available_ms          UInt64,
    busy_ms               UInt64,
    occupied_ms           UInt64,
    wrapup_ms             UInt64,
    unavailable_ms        UInt64,
    unknown_ms            UInt64,
    unavailable_reasons   Array(String),
    unavailable_reason_ms Array(UInt64),
    version               UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (agent_id, day);

CREATE TABLE IF NOT EXISTS agent_duty_daily
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    agent_id    UInt64,
    day         Date,
    day_start   DateTime('UTC'),
    day_end     DateTime('UTC'),
    on_duty_ms  UInt64,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (target_type, target_id, agent_id, day);

-- Per target and interval, the inbound conversations that started in it,
-- counted exactly as target_daily counts them: a day's intervals sum to
-- its target_daily row. Recomputed with conversations, a target-month at
-- a time (only the intervals of the days a recompute touches are
-- computed again).
CREATE TABLE IF NOT EXISTS target_intervals
(
    target_type           Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id             UInt64,
    interval_start        DateTime('UTC'),
    day                   Date,
    offered               UInt32,
    answered              UInt32,
    abandoned             UInt32,
    short_abandoned       UInt32,
    answered_in_threshold UInt32,
    total_wait_ms         UInt64,
    total_handle_ms       UInt64,
    version               UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY (target_type, target_id, toYYYYMM(day))
ORDER BY (target_type, target_id, day, interval_start);

CREATE TABLE IF NOT EXISTS target_intervals_stage AS target_intervals;
