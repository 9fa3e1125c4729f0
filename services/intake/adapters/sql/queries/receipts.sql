-- The receipt projection (consumer group intake-receipts): what a reporter sees of a case.

-- name: by_digest
SELECT receipt_digest, case_id, stage, last_seq, last_hash, reward_granted, updated_at, merged_into, hashes
FROM receipts WHERE receipt_digest = $1;

-- name: by_case
SELECT receipt_digest, case_id, stage, last_seq, last_hash, reward_granted, updated_at, merged_into, hashes
FROM receipts WHERE case_id = $1;

-- name: by_cases_for_update
SELECT receipt_digest, case_id, stage, last_seq, last_hash, reward_granted, updated_at, merged_into, hashes
FROM receipts WHERE case_id = ANY($1::uuid[]) ORDER BY case_id FOR UPDATE;

-- name: save
INSERT INTO receipts (receipt_digest, case_id, stage, last_seq, last_hash, reward_granted, updated_at,
                      merged_into, hashes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (case_id) DO UPDATE SET stage = EXCLUDED.stage, last_seq = EXCLUDED.last_seq,
    last_hash = EXCLUDED.last_hash, reward_granted = EXCLUDED.reward_granted,
    updated_at = EXCLUDED.updated_at, merged_into = EXCLUDED.merged_into, hashes = EXCLUDED.hashes;

-- name: add_step
INSERT INTO receipt_steps (case_id, seq, stage, label, on_day, at) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT DO NOTHING;

-- name: steps
SELECT stage, label, on_day, at FROM receipt_steps WHERE case_id = $1 ORDER BY seq;

-- name: add_message
INSERT INTO receipt_messages (notice_id, case_id, stage, text, on_day, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING;

-- name: messages
SELECT case_id, stage, text, on_day, recorded_at FROM receipt_messages
WHERE case_id = ANY($1::uuid[]) ORDER BY recorded_at;
