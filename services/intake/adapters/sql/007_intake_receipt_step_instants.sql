-- The instant the log recorded each step (recorded_at of its event): a clue merged into another case shows
-- that case's notices to reporters from the instant of the merge, not from its day (notices sent to the
-- other case's reporter earlier that day are theirs). Steps recorded before this column stay NULL and are
-- compared by day, as before.
ALTER TABLE receipt_steps ADD COLUMN IF NOT EXISTS at timestamptz;
