-- Accepted clues: intake's outbox (the relay publishes the rows without published_at), idempotent under a key.

-- name: insert
-- A new clue, or nothing when its Idempotency-Key was used before (the caller then reads that one).
INSERT INTO accepted_clues (idempotency_key, request_digest, case_id, event_id, receipt_code, event,
                            recorded_at, published_at, traceparent)
VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING idempotency_key, request_digest, case_id, event_id, receipt_code, event, recorded_at, published_at;

-- name: by_key
SELECT idempotency_key, request_digest, case_id, event_id, receipt_code, event, recorded_at, published_at
FROM accepted_clues WHERE idempotency_key = $1;

-- name: by_receipt
SELECT idempotency_key, request_digest, case_id, event_id, receipt_code, event, recorded_at, published_at
FROM accepted_clues WHERE receipt_code = $1;

-- name: published_at
SELECT published_at FROM accepted_clues WHERE case_id = $1;
