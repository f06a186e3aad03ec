-- Dialpad's own live status of each call-center target, polled every
-- CALLCENTER_STATUS_INTERVAL (GET /api/v2/callcenters/{id}/status): what
-- the wallboard shows beside the figures the job counts from events, and
-- all it shows live when no event arrives. One row per poll (a poll
-- written twice leaves one row with FINAL). interval_s is the polling
-- interval then, by which the wallboard judges a poll stale.
-- Partitioned by UTC day: the job drops the days older than
-- CALLCENTER_STATUS_KEEP (ClickHouse 18.16 has no TTL).
CREATE TABLE IF NOT EXISTS callcenter_status
(
    target_type         Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id           UInt64,
    polled_at           DateTime('UTC'),
    polled_ms           Int64,
    interval_s          UInt32,
    availability        String,
    availability_name   String,
    is_open             UInt8,
    on_duty_operators   UInt32,
    capacity            UInt32,
    pending             UInt32,
    longest_call_wait_s UInt32,
    version             UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMMDD(polled_at)
ORDER BY (target_type, target_id, polled_ms);
