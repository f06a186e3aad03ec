-- Reconciliation with Dialpad's own records export
-- (docs/reconciliation.md): each run compares a target's days, leg by leg, with
-- the export Dialpad wrote of them. One row per target, day and run; the
-- latest run of a day (by checked_ms, checked_at to the millisecond) is
-- its state. status: match (every leg on both
-- sides and agreeing), differ, or why there was nothing to compare
-- (failed: Dialpad failed the export; timeout: it never finished; error:
-- it could not be asked for, downloaded or read).
CREATE TABLE IF NOT EXISTS reconciliation
(
    target_type           Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id             UInt64,
    day                   Date,
    run_id                String,
    checked_at            DateTime('UTC'),
    checked_ms            Int64,
    status                Enum8('match' = 1, 'differ' = 2, 'failed' = 3, 'timeout' = 4, 'error' = 5),
    our_legs              UInt32,
    dialpad_legs          UInt32,
    our_conversations     UInt32,
    dialpad_conversations UInt32,
    only_dialpad          UInt32,
    only_ours             UInt32,
    disagreeing           UInt32,
    unreadable            UInt32,
    reloaded              UInt32,
    export_id             String,
    exported_at           DateTime('UTC'),
    error                 String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (target_type, target_id, day, checked_ms);

-- The legs behind a run's differences: only_dialpad (in Dialpad's export,
-- not in ours: we missed it), only_ours, direction, connected and
-- duration (on both sides but disagreeing; ours and dialpad hold each
-- side's value), unreadable (a row of the export that could not be read
-- or placed in time; call_id 0 when even that was unreadable) and
-- reloaded (missing, then found by the re-load of its day).
CREATE TABLE IF NOT EXISTS reconciliation_diffs
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    day         Date,
    run_id      String,
    checked_at  DateTime('UTC'),
    call_id     UInt64,
    kind        Enum8('only_dialpad' = 1, 'only_ours' = 2, 'direction' = 3, 'connected' = 4, 'duration' = 5, 'unreadable' = 6, 'reloaded' = 7),
    ours        String,
    dialpad     String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (target_type, target_id, day, checked_at, call_id);
