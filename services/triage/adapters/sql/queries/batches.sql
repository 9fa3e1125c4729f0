-- A batch of triage's consumer (adapters.case_store.CaseBatch): what it reads before its records are applied,
-- and what they did, each in one statement, as the statements of cases.sql, subjects.sql and anchors.sql
-- would leave the tables record by record (tests/integration/test_triage_batches.py holds the two equal).

-- name: read
-- Who holds each subject key of the batch's clues ($2; read, not locked: ``write`` files a key only where it
-- still stands), and the batch's cases ($1) with, when $3, those holding the keys, locked in case id order.
-- A row is a case (key NULL; state NULL for a case id triage does not have) or a key on file. The cases are
-- one array, so each is one probe of the primary key (an OR of the two sets read the whole table).
WITH held AS (
    SELECT key, case_id, reported_at FROM subjects WHERE key = ANY($2::text[])
), locked AS (
    SELECT case_id, state FROM cases
    WHERE case_id = ANY($1::uuid[] || CASE WHEN $3::boolean THEN ARRAY(SELECT case_id FROM held) END)
    ORDER BY case_id
    FOR UPDATE
)
SELECT case_id, state, NULL::text AS key, NULL::timestamptz AS reported_at FROM locked
UNION ALL
SELECT case_id, NULL::jsonb, key, reported_at FROM held;

-- name: write
-- The chain events the batch added ($1-$6, as cases.add_event), the states they reached ($7-$17, one per case,
-- as cases.save), the heads read back ($18-$20, the furthest per case, as anchors.note_head) and the subject
-- keys it filed ($21-$25): each key $21 under ($24, $25) only where it stands as it was read, held by ($22,
-- $23) or not on file ($22 NULL), and the events it publishes ($26-$30, outbox rows in the order given, as
-- cluetrail.outbox.outbox_row). The keys filed are returned: one missing was filed or moved meanwhile.
WITH events AS (
    INSERT INTO case_events (case_id, seq, event_id, type, hash, body)
    SELECT * FROM unnest($1::uuid[], $2::integer[], $3::uuid[], $4::text[], $5::text[], $6::bytea[])
), states AS (
    INSERT INTO cases (case_id, status, jurisdiction, grade, score, key_case, determination, outcome,
                       last_seq, last_hash, state, updated_at)
    SELECT s.*, now()
    FROM unnest($7::uuid[], $8::text[], $9::text[], $10::text[], $11::integer[], $12::boolean[], $13::text[],
                $14::text[], $15::integer[], $16::text[], $17::jsonb[]) AS s
    ORDER BY 1
    ON CONFLICT (case_id) DO UPDATE SET
        status = EXCLUDED.status, jurisdiction = EXCLUDED.jurisdiction, grade = EXCLUDED.grade,
        score = EXCLUDED.score, key_case = EXCLUDED.key_case, determination = EXCLUDED.determination,
        outcome = EXCLUDED.outcome, last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash,
        state = EXCLUDED.state, updated_at = now()
), heads AS (
    INSERT INTO anchor_heads (case_id, seq, hash)
    SELECT * FROM unnest($18::uuid[], $19::integer[], $20::text[]) ORDER BY 1
    ON CONFLICT (case_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash
        WHERE anchor_heads.seq < EXCLUDED.seq
), filing AS (
    SELECT * FROM unnest($21::text[], $22::uuid[], $23::timestamptz[], $24::uuid[], $25::timestamptz[])
        AS f (key, read_case_id, read_reported_at, case_id, reported_at)
), moved AS (
    UPDATE subjects AS s SET case_id = f.case_id, reported_at = f.reported_at
    FROM filing AS f
    WHERE s.key = f.key AND s.case_id = f.read_case_id AND s.reported_at = f.read_reported_at
    RETURNING s.key
), added AS (
    INSERT INTO subjects (key, case_id, reported_at)
    SELECT key, case_id, reported_at FROM filing WHERE read_case_id IS NULL ORDER BY key
    ON CONFLICT (key) DO NOTHING
    RETURNING key
), published AS (
    INSERT INTO outbox (event_id, case_id, seq, event, traceparent)
    SELECT event_id, case_id, seq, event, traceparent
    FROM unnest($26::uuid[], $27::uuid[], $28::integer[], $29::bytea[], $30::text[]) WITH ORDINALITY
        AS o (event_id, case_id, seq, event, traceparent, n)
    ORDER BY n
)
SELECT key FROM moved UNION ALL SELECT key FROM added;
