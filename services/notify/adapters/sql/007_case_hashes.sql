-- Every event hash of a case by seq (hashes[seq]), so the one chain step (contracts.chain) tells a late copy
-- of an earlier event from a fork. A case folded before this column stays empty and advances by seq.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS hashes text[] NOT NULL DEFAULT '{}';
