-- The bytes of every event triage holds, so a referral bundle for the police carries the case's full
-- history exactly as written (rows written before this column existed have none; a rebuild fills them).
ALTER TABLE case_events ADD COLUMN IF NOT EXISTS body bytea;

-- Subjects on file (dedup): a key of a clue's subject -> the case that first reported it. Keys are
-- 'credit:<USCC>' or 'name:<district>:<normalised name>|<normalised address>' (services.triage.domain.dedup).
CREATE TABLE IF NOT EXISTS subjects (
    key     text PRIMARY KEY,
    case_id uuid NOT NULL
);

-- Cases still handled: neither closed, written off nor merged.
DROP INDEX IF EXISTS cases_open;
CREATE INDEX IF NOT EXISTS cases_handled ON cases (case_id)
    WHERE status NOT IN ('closed', 'written_off', 'merged');
