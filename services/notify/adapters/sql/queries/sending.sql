-- Sending deliveries: claiming a due one with its attempt counted, settling the attempt, and the dead
-- letters of dead deliveries. A delivery's columns are returned in the order of deliveries.sql.

-- name: claim
-- One due delivery that is ready (no earlier pending or dead delivery of its case to the same recipient
-- on the same channel in the same ordering: a dead one holds the later ones until it is resent), with
-- the attempt about to be made counted (and logged in delivery_attempts, without an outcome until it is
-- settled) and a lease of $1 seconds. SKIP LOCKED lets several senders (and instances) share the queue
-- without two of them sending the same delivery at once.
WITH claimed AS (
    UPDATE deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1,
        last_attempt_at = clock_timestamp(),
        sending_until = clock_timestamp() + make_interval(secs => $1),
        next_attempt_at = clock_timestamp() + make_interval(secs => $1)
    WHERE delivery_id = (
        SELECT d.delivery_id FROM deliveries d
        WHERE d.status = 'pending'
          AND NOT EXISTS (SELECT e.delivery_id FROM deliveries e
                          WHERE e.status IN ('pending', 'dead') AND e.recipient_id = d.recipient_id
                            AND e.channel = d.channel AND e.case_id = d.case_id AND e.origin = d.origin
                            AND e.seq < d.seq)
          AND d.next_attempt_at <= clock_timestamp()
        ORDER BY d.next_attempt_at, d.seq LIMIT 1 FOR UPDATE OF d SKIP LOCKED)
    RETURNING delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent,
        status, attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at,
        dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at, origin,
        rendered, failing_since, last_attempt_at
), counted AS (
    INSERT INTO delivery_attempts (delivery_id, attempt, at, settled)
    SELECT delivery_id, attempts, last_attempt_at, false FROM claimed
)
SELECT * FROM claimed;

-- name: lock_claimed
SELECT attempts FROM deliveries WHERE delivery_id = $1 AND status = 'pending' FOR UPDATE;

-- name: next_due
-- When the earliest ready delivery (as in claim) falls due.
SELECT min(d.next_attempt_at) FROM deliveries d
WHERE d.status = 'pending'
  AND NOT EXISTS (SELECT e.delivery_id FROM deliveries e
                  WHERE e.status IN ('pending', 'dead') AND e.recipient_id = d.recipient_id
                    AND e.channel = d.channel AND e.case_id = d.case_id AND e.origin = d.origin
                    AND e.seq < d.seq);

-- name: record_outcome
UPDATE delivery_attempts SET status_code = $3, error = $4, duration_ms = $5, settled = true
WHERE delivery_id = $1 AND attempt = $2;

-- name: delivered
UPDATE deliveries SET status = 'delivered', attempts = $2, round_attempts = $3, delivered_at = $4,
    last_error = NULL, failing_since = NULL, sending_until = NULL
WHERE delivery_id = $1;

-- name: bring_forward
-- A recipient's deliveries waiting out a backoff, due now; one being sent right now is left alone
-- (bringing its lease forward would send it twice at once).
UPDATE deliveries SET next_attempt_at = clock_timestamp()
WHERE recipient_id = $1 AND channel = $2 AND status = 'pending' AND round_attempts > 0
  AND next_attempt_at > clock_timestamp() AND sending_until IS NULL;

-- name: retry
UPDATE deliveries SET attempts = $2, round_attempts = $3, last_error = $5,
    failing_since = coalesce(failing_since, clock_timestamp()), sending_until = NULL,
    next_attempt_at = clock_timestamp() + make_interval(secs => $4)
WHERE delivery_id = $1;

-- name: dead
UPDATE deliveries SET status = 'dead', attempts = $2, round_attempts = $3, last_error = $4,
    dead_at = clock_timestamp(), dead_letter_published_at = NULL, sending_until = NULL
WHERE delivery_id = $1;

-- name: unpublished_dead
SELECT delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent,
       status, attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at,
       dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at, origin,
       rendered, failing_since, last_attempt_at
FROM deliveries
WHERE status = 'dead' AND dead_letter_published_at IS NULL
ORDER BY dead_at LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: dead_letter_published
UPDATE deliveries SET dead_letter_published_at = clock_timestamp() WHERE delivery_id = $1;
