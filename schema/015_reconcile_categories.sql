-- The reconciliation compares Dialpad's own classification of each day's
-- inbound entry legs (the records export's categories: answered,
-- voicemail, abandoned, missed, the first of them a leg has) with ours
-- (the leg's conversation: answered, voicemail, abandoned before an agent
-- rang, missed by agents), per target and day: each side's count of
-- each class.
ALTER TABLE reconciliation ADD COLUMN our_answered UInt32 DEFAULT 0;

ALTER TABLE reconciliation ADD COLUMN our_voicemail UInt32 DEFAULT 0;

ALTER TABLE reconciliation ADD COLUMN our_abandoned UInt32 DEFAULT 0;

ALTER TABLE reconciliation ADD COLUMN our_missed UInt32 DEFAULT 0;

ALTER TABLE reconciliation ADD COLUMN dialpad_answered UInt32 DEFAULT 0;

ALTER TABLE reconciliation ADD COLUMN dialpad_voicemail UInt32 DEFAULT 0;

ALTER TABLE reconciliation ADD COLUMN dialpad_abandoned UInt32 DEFAULT 0;

ALTER TABLE reconciliation ADD COLUMN dialpad_missed UInt32 DEFAULT 0;

-- category: an entry leg on both sides that the two classify differently
-- (ours and dialpad hold each side's class, none when it has none of the
-- four).
ALTER TABLE reconciliation_diffs MODIFY COLUMN kind Enum8('only_dialpad' = 1, 'only_ours' = 2, 'direction' = 3, 'connected' = 4, 'duration' = 5, 'unreadable' = 6, 'reloaded' = 7, 'category' = 8);
