-- Statements that apply events to a projection version. Run with search_path set to that version's schema.

-- name: ledger_rows_for_update
SELECT * FROM ledger WHERE case_id = ANY($1::uuid[]) FOR UPDATE;

-- name: hash_at_seq
SELECT hash FROM history WHERE case_id = $1 AND seq = $2;

-- name: case_facts
-- The stored facts of cases, as the tables read them (reads.sql, table_history).
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

-- name: empty_case_tables
-- A build's first pass undone (rebuild shares that met a case in common): the case tables as the template
-- left them. The notices are read after it.
TRUNCATE ledger, history, grade_counts, case_months, consumer_positions;

-- name: count_cases
SELECT count(*) FROM ledger;

-- name: write_changes
-- One round trip for everything an apply changed: ledger rows, history rows (none when they went by COPY),
-- grade count increments and month rows, each column passed as an array (the shape unnest takes). The
-- columns are those of projector.LEDGER_COLUMNS (the fields of domain.ledger.LedgerState), HISTORY_COLUMNS
-- and MONTH_COLUMNS, in their order: the projector checks the lists below against them when it is loaded.
WITH ledger_rows AS (
    INSERT INTO ledger (
        case_id, jurisdiction, status, source, subject_name, credit_code, sector, estimated_amount_yuan,
        participants, grade, score, key_case, determination, outcome, recovered_amount_yuan, escalations,
        reported_at, updated_at, last_seq, last_hash, department, regions_involved, flags, measures,
        key_case_reasons, determined_at, transferred_to_police, police_jurisdiction, transferred_at,
        police_accepted_at, police_case_number, closed_at, written_off, reopened, rewards_yuan, linked_clues,
        merged_into, supervising_leader, held_by, handoff_pending, handoff_across_regions
    )
    SELECT * FROM unnest(
        $1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
        $9::bigint[], $10::text[], $11::integer[], $12::boolean[], $13::text[], $14::text[], $15::bigint[],
        $16::integer[], $17::timestamptz[], $18::timestamptz[], $19::integer[], $20::text[], $21::text[],
        $22::jsonb[], $23::jsonb[], $24::jsonb[], $25::jsonb[], $26::timestamptz[], $27::boolean[],
        $28::text[], $29::timestamptz[], $30::timestamptz[], $31::text[], $32::timestamptz[], $33::boolean[],
        $34::integer[], $35::bigint[], $36::integer[], $37::text[], $38::text[], $39::jsonb[],
        $40::jsonb[], $41::jsonb[]
    )
    ON CONFLICT (case_id) DO UPDATE SET
        jurisdiction = EXCLUDED.jurisdiction, status = EXCLUDED.status, source = EXCLUDED.source,
        subject_name = EXCLUDED.subject_name, credit_code = EXCLUDED.credit_code, sector = EXCLUDED.sector,
        estimated_amount_yuan = EXCLUDED.estimated_amount_yuan, participants = EXCLUDED.participants,
        grade = EXCLUDED.grade, score = EXCLUDED.score, key_case = EXCLUDED.key_case,
        determination = EXCLUDED.determination, outcome = EXCLUDED.outcome,
        recovered_amount_yuan = EXCLUDED.recovered_amount_yuan, escalations = EXCLUDED.escalations,
        reported_at = EXCLUDED.reported_at, updated_at = EXCLUDED.updated_at, last_seq = EXCLUDED.last_seq,
        last_hash = EXCLUDED.last_hash, department = EXCLUDED.department,
        regions_involved = EXCLUDED.regions_involved, flags = EXCLUDED.flags, measures = EXCLUDED.measures,
        key_case_reasons = EXCLUDED.key_case_reasons, determined_at = EXCLUDED.determined_at,
        transferred_to_police = EXCLUDED.transferred_to_police,
        police_jurisdiction = EXCLUDED.police_jurisdiction, transferred_at = EXCLUDED.transferred_at,
        police_accepted_at = EXCLUDED.police_accepted_at, police_case_number = EXCLUDED.police_case_number,
        closed_at = EXCLUDED.closed_at, written_off = EXCLUDED.written_off, reopened = EXCLUDED.reopened,
        rewards_yuan = EXCLUDED.rewards_yuan, linked_clues = EXCLUDED.linked_clues,
        merged_into = EXCLUDED.merged_into, supervising_leader = EXCLUDED.supervising_leader,
        held_by = EXCLUDED.held_by, handoff_pending = EXCLUDED.handoff_pending,
        handoff_across_regions = EXCLUDED.handoff_across_regions
), history_rows AS (
    INSERT INTO history (
        case_id, seq, event_id, type, schema_version, occurred_at, recorded_at, actor, prev_hash, hash,
        payload, kafka_partition, kafka_offset, jurisdiction
    )
    SELECT * FROM unnest(
        $42::uuid[], $43::integer[], $44::uuid[], $45::text[], $46::integer[], $47::timestamptz[],
        $48::timestamptz[], $49::jsonb[], $50::text[], $51::text[], $52::jsonb[], $53::integer[],
        $54::bigint[], $55::text[]
    )
), grade_rows AS (
    INSERT INTO grade_counts (jurisdiction, grade, cases)
    SELECT * FROM unnest($56::text[], $57::text[], $58::bigint[])
    ON CONFLICT (jurisdiction, grade) DO UPDATE SET cases = grade_counts.cases + EXCLUDED.cases
), month_rows AS (
    INSERT INTO case_months (
        case_id, period, present, end_jurisdiction, end_sector, end_grade, end_determination, end_open,
        end_closed, end_transferred, end_accepted, end_recovered_yuan, clue_at, end_amount_yuan,
        end_participants, new_clues, from_grid, from_public, from_monitoring, from_referral, participants,
        amount_yuan, determined, measures, to_police, police_accepted, closed, recovered_yuan, rewards_yuan
    )
    SELECT * FROM unnest(
        $59::uuid[], $60::text[], $61::boolean[], $62::text[], $63::text[], $64::text[], $65::text[],
        $66::boolean[], $67::boolean[], $68::boolean[], $69::boolean[], $70::bigint[], $71::timestamptz[],
        $72::bigint[], $73::bigint[], $74::bigint[], $75::bigint[], $76::bigint[], $77::bigint[],
        $78::bigint[], $79::bigint[], $80::bigint[], $81::bigint[], $82::bigint[], $83::bigint[],
        $84::bigint[], $85::bigint[], $86::bigint[], $87::bigint[]
    )
    ON CONFLICT (case_id, period) DO UPDATE SET
        present = EXCLUDED.present, end_jurisdiction = EXCLUDED.end_jurisdiction,
        end_sector = EXCLUDED.end_sector, end_grade = EXCLUDED.end_grade,
        end_determination = EXCLUDED.end_determination, end_open = EXCLUDED.end_open,
        end_closed = EXCLUDED.end_closed, end_transferred = EXCLUDED.end_transferred,
        end_accepted = EXCLUDED.end_accepted, end_recovered_yuan = EXCLUDED.end_recovered_yuan,
        clue_at = EXCLUDED.clue_at, end_amount_yuan = EXCLUDED.end_amount_yuan,
        end_participants = EXCLUDED.end_participants, new_clues = EXCLUDED.new_clues,
        from_grid = EXCLUDED.from_grid, from_public = EXCLUDED.from_public,
        from_monitoring = EXCLUDED.from_monitoring, from_referral = EXCLUDED.from_referral,
        participants = EXCLUDED.participants, amount_yuan = EXCLUDED.amount_yuan,
        determined = EXCLUDED.determined, measures = EXCLUDED.measures, to_police = EXCLUDED.to_police,
        police_accepted = EXCLUDED.police_accepted, closed = EXCLUDED.closed,
        recovered_yuan = EXCLUDED.recovered_yuan, rewards_yuan = EXCLUDED.rewards_yuan
)
SELECT 1;
