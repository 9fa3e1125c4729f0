-- Subjects on file (dedup): a key of a clue's subject -> the case that reported it first.

-- name: case_on_file
SELECT case_id FROM subjects WHERE key = $1 AND case_id <> $2;

-- name: put_on_file
-- A key on file stays with the case that reported it first (ties: the lower case id).
INSERT INTO subjects (key, case_id, reported_at) VALUES ($1, $2, $3)
ON CONFLICT (key) DO UPDATE SET case_id = EXCLUDED.case_id, reported_at = EXCLUDED.reported_at
WHERE (EXCLUDED.reported_at, EXCLUDED.case_id) < (subjects.reported_at, subjects.case_id);

-- name: move
-- The keys of $1 on file under $3 move to $2 (with its report time, when known).
UPDATE subjects SET case_id = $2, reported_at = COALESCE($4, reported_at)
WHERE key = ANY($1::text[]) AND case_id = $3;

