-- Accepted clues: intake's outbox (the relay publishes the rows without published_at), idempotent under a key.

-- name: insert
-- New clues of concurrent requests in one statement; those whose Idempotency-Key was used before (or by
-- another clue of the same statement) are left out, and the caller reads the one stored under the key.
INSERT INTO accepted_clues (idempotency_key, request_digest, case_id, event_id, receipt_code, event,
                            recorded_at, published_at, traceparent)
SELECT key, digest, case_id, event_id, receipt_code, event, recorded_at, NULL, traceparent
FROM unnest($1::text[], $2::text[], $3::uuid[], $4::uuid[], $5::text[], $6::bytea[], $7::timestamptz[],
            $8::text[])
     AS clue(key, digest, case_id, event_id, receipt_code, event, recorded_at, traceparent)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING event_id;

-- name: by_key
SELECT idempotency_key, request_digest, case_id, event_id, receipt_code, event, recorded_at, published_at
FROM accepted_clues WHERE idempotency_key = $1;

-- name: by_receipt
SELECT idempotency_key, request_digest, case_id, event_id, receipt_code, event, recorded_at, published_at
FROM accepted_clues WHERE receipt_code = $1;

-- name: published_at
SELECT published_at FROM accepted_clues WHERE case_id = $1;
