-- The outbox relay reads the same columns from every table it publishes (cluetrail/sql/003); intake's clues
-- are always its own, so the column stays empty.
ALTER TABLE accepted_clues ADD COLUMN IF NOT EXISTS origin_region text;
