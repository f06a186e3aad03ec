-- A run that found its target leased by another process is recorded as
-- skipped.
ALTER TABLE etl_runs MODIFY COLUMN status Enum8('succeeded' = 1, 'failed' = 2, 'cancelled' = 3, 'skipped' = 4);

-- legs counts every leg a run read; legs_changed those that were new or
-- differed from the stored copy, so that a re-read of a day that changed
-- nothing does not look like new data.
ALTER TABLE etl_runs ADD COLUMN legs_changed UInt64 DEFAULT 0 AFTER legs;

-- A hash of each leg's raw JSON, so that a load can tell the legs that
-- are new or changed from those it read again as they were. Legs stored
-- before it have 0, and count as changed when next read.
ALTER TABLE calls ADD COLUMN raw_hash UInt64 DEFAULT 0 AFTER raw;
