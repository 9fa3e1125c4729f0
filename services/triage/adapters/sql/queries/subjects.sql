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

-- name: holders
SELECT key, case_id, reported_at FROM subjects WHERE key = ANY($1::text[]);

-- name: file_as_read
-- Each key $1 filed under ($4, $5), only where it stands as it was read: held by ($2, $3), or not on file
-- ($2 NULL). The keys filed are returned.
WITH batch AS (
    SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::timestamptz[])
        AS b (key, read_case_id, read_reported_at, case_id, reported_at)
), moved AS (
    UPDATE subjects AS s SET case_id = b.case_id, reported_at = b.reported_at
    FROM batch AS b
    WHERE s.key = b.key AND s.case_id = b.read_case_id AND s.reported_at = b.read_reported_at
    RETURNING s.key
), added AS (
    INSERT INTO subjects (key, case_id, reported_at)
    SELECT key, case_id, reported_at FROM batch WHERE read_case_id IS NULL ORDER BY key
    ON CONFLICT (key) DO NOTHING
    RETURNING key
)
SELECT key FROM moved UNION ALL SELECT key FROM added;
