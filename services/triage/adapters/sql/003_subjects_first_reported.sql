-- A subject key belongs to the case that reported it first by the log's own clock (the clue's recorded_at,
-- then the case id), not to the case applied first: partitions are read in no fixed order, so a database
-- rebuilt from the log must file every key as the live one did. Keys filed before this column existed keep
-- their case ('-infinity').
ALTER TABLE subjects ADD COLUMN IF NOT EXISTS reported_at timestamptz NOT NULL DEFAULT '-infinity';
