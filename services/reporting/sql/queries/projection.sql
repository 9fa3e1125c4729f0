-- Statements that apply events to a projection version. Run with search_path set to that version's schema.

-- name: ledger_rows_for_update
SELECT * FROM ledger WHERE case_id = ANY($1::uuid[]) FOR UPDATE;

-- name: hash_at_seq
SELECT hash FROM history WHERE case_id = $1 AND seq = $2;

-- name: upsert_ledger
INSERT INTO ledger (
    case_id, jurisdiction, status, source, subject_name, credit_code, sector, estimated_amount_yuan,
    participants, grade, score, key_case, determination, outcome, recovered_amount_yuan, escalations,
    reported_at, updated_at, last_seq, last_hash
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
ON CONFLICT (case_id) DO UPDATE SET
    jurisdiction = EXCLUDED.jurisdiction, status = EXCLUDED.status, source = EXCLUDED.source,
    subject_name = EXCLUDED.subject_name, credit_code = EXCLUDED.credit_code, sector = EXCLUDED.sector,
    estimated_amount_yuan = EXCLUDED.estimated_amount_yuan, participants = EXCLUDED.participants,
    grade = EXCLUDED.grade, score = EXCLUDED.score, key_case = EXCLUDED.key_case,
    determination = EXCLUDED.determination, outcome = EXCLUDED.outcome,
    recovered_amount_yuan = EXCLUDED.recovered_amount_yuan, escalations = EXCLUDED.escalations,
    reported_at = EXCLUDED.reported_at, updated_at = EXCLUDED.updated_at,
    last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash;

-- name: insert_history
INSERT INTO history (
    case_id, seq, event_id, type, schema_version, occurred_at, recorded_at, actor, prev_hash, hash,
    payload, kafka_partition, kafka_offset
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11::jsonb, $12, $13);

-- name: add_grade_counts
INSERT INTO grade_counts (jurisdiction, grade, cases) VALUES ($1, $2, $3)
ON CONFLICT (jurisdiction, grade) DO UPDATE SET cases = grade_counts.cases + EXCLUDED.cases;

-- name: upsert_position
INSERT INTO consumer_positions (consumer, topic, partition, "offset") VALUES ($1, $2, $3, $4)
ON CONFLICT (consumer, topic, partition) DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = now();

-- name: positions
SELECT partition, "offset" FROM consumer_positions WHERE consumer = $1 AND topic = $2;

-- name: count_cases
SELECT count(*) FROM ledger;
