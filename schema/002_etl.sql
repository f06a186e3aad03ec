-- One row per run and target: what was loaded, how it went, what it cost.
CREATE TABLE IF NOT EXISTS etl_runs
(
    run_id       String,
    target_type  Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id    UInt64,
    kind         Enum8('incremental' = 1, 'backfill' = 2, 'nightly' = 3),
    window_from  DateTime('UTC'),
    window_to    DateTime('UTC'),
    started_at   DateTime('UTC'),
    finished_at  DateTime('UTC'),
    status       Enum8('succeeded' = 1, 'failed' = 2, 'cancelled' = 3),
    windows      UInt32,
    pages        UInt32,
    requests     UInt32,
    retries      UInt32,
    rate_limited UInt32,
    legs         UInt64,
    rejected     UInt32,
    error        String,
    host         String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (target_type, target_id, started_at, run_id);

-- The incremental high-water mark per target. The version is the mark
-- itself, so FINAL always shows the highest mark written: a backfill or a
-- slower concurrent run can never move it backwards.
CREATE TABLE IF NOT EXISTS etl_state
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    high_water  DateTime('UTC'),
    updated_at  DateTime('UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (target_type, target_id);

-- Windows loaded completely after they were final (every call in them had
-- ended), so that a backfill run again skips them.
CREATE TABLE IF NOT EXISTS etl_windows
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    window_from DateTime('UTC'),
    window_to   DateTime('UTC'),
    legs        UInt64,
    loaded_at   DateTime('UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (target_type, target_id, window_from, window_to);
