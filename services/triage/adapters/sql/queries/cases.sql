-- Triage's state of each case, and the chain of events it holds for each (with their bytes).

-- name: state
SELECT state FROM cases WHERE case_id = $1;

-- name: state_for_update
SELECT state FROM cases WHERE case_id = $1 FOR UPDATE;

-- name: add_event
INSERT INTO case_events (case_id, seq, event_id, type, hash, body) VALUES ($1, $2, $3, $4, $5, $6);

-- name: save
INSERT INTO cases (case_id, status, jurisdiction, grade, score, key_case, determination, outcome,
                   last_seq, last_hash, state, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, now())
ON CONFLICT (case_id) DO UPDATE SET
    status = EXCLUDED.status, jurisdiction = EXCLUDED.jurisdiction, grade = EXCLUDED.grade,
    score = EXCLUDED.score, key_case = EXCLUDED.key_case, determination = EXCLUDED.determination,
    outcome = EXCLUDED.outcome, last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash,
    state = EXCLUDED.state, updated_at = now();

-- name: open_case_ids
-- Cases still handled: neither closed, written off nor merged.
SELECT case_id FROM cases WHERE status NOT IN ('closed', 'written_off', 'merged');

-- name: event_bodies
SELECT seq, body FROM case_events WHERE case_id = $1 AND seq <= $2 ORDER BY seq;
