-- Backfill from Dialpad's records export (backfill --via export): a leg
-- read from an export is stored with source 'export' and a version below
-- any read of the list or event of it (the leg's start), so that either
-- replaces it; a day loaded from an export is recorded with its source.
ALTER TABLE calls MODIFY COLUMN source Enum8('list' = 1, 'event' = 2, 'export' = 3) DEFAULT 'list';

ALTER TABLE etl_windows ADD COLUMN source Enum8('list' = 1, 'export' = 2) DEFAULT 'list';
