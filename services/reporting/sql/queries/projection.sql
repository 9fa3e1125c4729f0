-- Statements that apply events to a projection version. Run with search_path set to that version's schema.

-- name: ledger_rows_for_update
SELECT * FROM ledger WHERE case_id = ANY($1::uuid[]) FOR UPDATE;

-- name: hash_at_seq
SELECT hash FROM history WHERE case_id = $1 AND seq = $2;

-- name: write_changes
-- One round trip for everything an apply changed: ledger rows ($1..$20), history rows ($21..$33, empty
-- when they went by COPY) and grade count increments ($34..$36), each column passed as an array.
WITH ledger_rows AS (
    INSERT INTO ledger (
        case_id, jurisdiction, status, source, subject_name, credit_code, sector, estimated_amount_yuan,
        participants, grade, score, key_case, determination, outcome, recovered_amount_yuan, escalations,
        reported_at, updated_at, last_seq, last_hash
    )
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
        $9::bigint[], $10::text[], $11::integer[], $12::boolean[], $13::text[], $14::text[], $15::bigint[],
        $16::integer[], $17::timestamptz[], $18::timestamptz[], $19::integer[], $20::text[]
    )
    ON CONFLICT (case_id) DO UPDATE SET
        jurisdiction = EXCLUDED.jurisdiction, status = EXCLUDED.status, source = EXCLUDED.source,
        subject_name = EXCLUDED.subject_name, credit_code = EXCLUDED.credit_code, sector = EXCLUDED.sector,
        estimated_amount_yuan = EXCLUDED.estimated_amount_yuan, participants = EXCLUDED.participants,
        grade = EXCLUDED.grade, score = EXCLUDED.score, key_case = EXCLUDED.key_case,
        determination = EXCLUDED.determination, outcome = EXCLUDED.outcome,
        recovered_amount_yuan = EXCLUDED.recovered_amount_yuan, escalations = EXCLUDED.escalations,
        reported_at = EXCLUDED.reported_at, updated_at = EXCLUDED.updated_at,
        last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash
), history_rows AS (
    INSERT INTO history (
        case_id, seq, event_id, type, schema_version, occurred_at, recorded_at, actor, prev_hash, hash,
        payload, kafka_partition, kafka_offset
    )
    SELECT * FROM unnest(
        $21::uuid[], $22::integer[], $23::uuid[], $24::text[], $25::integer[], $26::timestamptz[],
        $27::timestamptz[], $28::jsonb[], $29::text[], $30::text[], $31::jsonb[], $32::integer[], $33::bigint[]
    )
), grade_rows AS (
    INSERT INTO grade_counts (jurisdiction, grade, cases)
    SELECT * FROM unnest($34::text[], $35::text[], $36::bigint[])
    ON CONFLICT (jurisdiction, grade) DO UPDATE SET cases = grade_counts.cases + EXCLUDED.cases
)
SELECT 1;

-- name: upsert_position
INSERT INTO consumer_positions (consumer, topic, partition, "offset") VALUES ($1, $2, $3, $4)
ON CONFLICT (consumer, topic, partition) DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = now();

-- name: positions
SELECT partition, "offset" FROM consumer_positions WHERE consumer = $1 AND topic = $2;

-- name: count_cases
SELECT count(*) FROM ledger;
