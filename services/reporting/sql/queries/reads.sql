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
  AND ($7::timestamptz IS NULL OR reported_at <= $7)
  AND ($8::boolean IS NULL OR transferred_to_police = $8)
  AND ($9::boolean IS NULL OR (status NOT IN ('closed', 'written_off', 'merged')) = $9);

-- name: page_cases
SELECT * FROM ledger
WHERE ($1::text[] IS NULL OR jurisdiction = ANY($1::text[]))
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR grade = $3)
  AND ($4::boolean IS NULL OR key_case = $4)
  AND ($5::text IS NULL OR sector = $5)
  AND ($6::timestamptz IS NULL OR reported_at >= $6)
  AND ($7::timestamptz IS NULL OR reported_at <= $7)
  AND ($8::boolean IS NULL OR transferred_to_police = $8)
  AND ($9::boolean IS NULL OR (status NOT IN ('closed', 'written_off', 'merged')) = $9)
ORDER BY reported_at DESC, case_id DESC
OFFSET $10 LIMIT $11;

-- name: one_case
SELECT * FROM ledger WHERE case_id = $1;

-- name: case_history
SELECT seq, event_id, type, schema_version, occurred_at, recorded_at, actor, prev_hash, hash, payload
FROM history WHERE case_id = $1 ORDER BY seq;

-- name: grade_counts
SELECT jurisdiction, grade, cases FROM grade_counts WHERE cases <> 0 ORDER BY jurisdiction, grade;

-- name: table_cases
-- The cases a table is computed from: those that ever belonged to the subtree (NULL: all; the table
-- places each where it stood at the end of its period), optionally only those sent to the police.
SELECT * FROM ledger
WHERE ($1::text[] IS NULL OR case_id IN (SELECT case_id FROM history WHERE jurisdiction = ANY($1::text[])))
  AND ($2::boolean IS NULL OR transferred_to_police = $2)
  AND ($3::text IS NULL OR sector = $3)
  AND ($4::text IS NULL OR grade = $4)
  AND ($5::text IS NULL OR status = $5)
ORDER BY reported_at, case_id;

-- name: table_history
-- Payloads without their long free text and evidence lists, which no table counts.
SELECT case_id, seq, type, occurred_at, jurisdiction,
       payload - 'description' - 'evidence' - 'reporter' - 'factors' - 'suggestions' - 'overrides' - 'basis'
               - 'summary' - 'detail' - 'reason' - 'note' AS payload
FROM history
WHERE case_id = ANY($1::uuid[]) ORDER BY case_id, seq;
