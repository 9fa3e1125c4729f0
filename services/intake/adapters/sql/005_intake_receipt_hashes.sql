-- The hash of every event the receipt projection applied, by seq (hashes[seq]): a late copy of an earlier
-- event (an intake retry after triage wrote more, a relay that lost its published mark) is then known for
-- the duplicate it is, and another event at that seq for a fork.
ALTER TABLE receipts ADD COLUMN IF NOT EXISTS hashes text[] NOT NULL DEFAULT '{}';
