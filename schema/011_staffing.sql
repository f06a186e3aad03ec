-- Staffing (docs/counting.md, "Staffing"): per target and 15-minute
-- interval (as in target_intervals), the agents it needed by Erlang C.
-- forecast = 0: from what came, the interval's own offered calls and
-- handle time (with after-call work); written for the intervals that have
-- begun, recomputed with the target's intervals. forecast = 1: from the
-- same weekday and time of day of the weeks before the interval's day
-- (weeks: how many of them had data); written by the nightly run for the
-- last week and the next 14 days, and by a rebuild for every day. A past
-- interval has both rows, so the forecast's error can be measured.
CREATE TABLE IF NOT EXISTS staffing
(
    target_type    Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id      UInt64,
    interval_start DateTime('UTC'),
    day            Date,
    forecast       UInt8,
    offered        Float64,
    handle_ms      UInt64,
    erlangs        Float64,
    required       UInt32,
    scheduled      UInt32,
    weeks          UInt8,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (target_type, target_id, forecast, interval_start);
