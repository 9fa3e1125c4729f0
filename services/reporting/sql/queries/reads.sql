-- What the HTTP API reads. Run with search_path set to the active (or requested as-of) version's schema.
-- Every filter is optional: a NULL parameter leaves it out.

-- name: count_cases
SELECT count(*) FROM ledger
WHERE ($1::text[] IS NULL OR jurisdiction = ANY($1::text[]))
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR grade = $3)
  AND ($4::boolean IS NULL OR key_case = $4)
  AND ($5::text IS NULL OR sector = $5)
  AND ($6::timestamptz IS NULL OR reported_at >= $6)
  AND ($7::timestamptz IS NULL OR reported_at <= $7);

-- name: page_cases
SELECT * FROM ledger
WHERE ($1::text[] IS NULL OR jurisdiction = ANY($1::text[]))
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR grade = $3)
  AND ($4::boolean IS NULL OR key_case = $4)
  AND ($5::text IS NULL OR sector = $5)
  AND ($6::timestamptz IS NULL OR reported_at >= $6)
  AND ($7::timestamptz IS NULL OR reported_at <= $7)
ORDER BY reported_at DESC, case_id DESC
OFFSET $8 LIMIT $9;

-- name: one_case
SELECT * FROM ledger WHERE case_id = $1;

-- name: case_history
SELECT seq, event_id, type, schema_version, occurred_at, recorded_at, actor, prev_hash, hash, payload
FROM history WHERE case_id = $1 ORDER BY seq;

-- name: grade_counts
SELECT jurisdiction, grade, cases FROM grade_counts WHERE cases <> 0 ORDER BY jurisdiction, grade;
