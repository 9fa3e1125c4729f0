-- Statements that apply events to a projection version. Run with search_path set to that version's schema.

-- name: ledger_rows_for_update
SELECT * FROM ledger WHERE case_id = ANY($1::uuid[]) FOR UPDATE;

-- name: hash_at_seq
SELECT hash FROM history WHERE case_id = $1 AND seq = $2;

-- name: case_facts
-- The stored facts of cases, as the tables read them (services/reporting/sql/queries/reads.sql).
SELECT case_id, seq, type, occurred_at, jurisdiction,
       -- A grade before assessed v3 keeps its factors: they hold the case's figures (graded_figures).
       CASE WHEN type = 'assessed' AND NOT payload ? 'participants' THEN payload ELSE payload - 'factors' END
               - 'description' - 'evidence' - 'reporter' - 'suggestions' - 'overrides' - 'basis'
               - 'summary' - 'detail' - 'reason' - 'note' AS payload
FROM history
WHERE case_id = ANY($1::uuid[]) ORDER BY case_id, seq;

-- name: upsert_position
INSERT INTO consumer_positions (consumer, topic, partition, "offset") VALUES ($1, $2, $3, $4)
ON CONFLICT (consumer, topic, partition) DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = now();

-- name: positions
SELECT partition, "offset" FROM consumer_positions WHERE consumer = $1 AND topic = $2;

-- name: count_cases
SELECT count(*) FROM ledger;
