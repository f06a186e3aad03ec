-- When each target's call events last arrived, kept for good (live_calls
-- keeps two days): what the alert "No call events while open" measures
-- the silence of a target's events from. The receiver writes a row per
-- target its legs go to, per group of events it stores; read max().
-- Once applied, it is seeded from live_calls (Store.Migrate), so that
-- events that stopped before the upgrade are alerted on too.
CREATE TABLE IF NOT EXISTS target_events
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    received_at DateTime('UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (target_type, target_id);

