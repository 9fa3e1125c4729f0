-- Deliveries: one per (event or notice, recipient, channel), the notice as written for it, and the case
-- events they were written from. A delivery's columns, in the order every statement returns them:
-- delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent, status,
-- attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at,
-- dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at, origin,
-- rendered, failing_since, last_attempt_at.

-- name: add
-- A new delivery, or nothing when the event was routed to this recipient on this channel before.
-- $11 is the failure of a notice that could not be written (dead at once), $14 whether it is history
-- (skipped: sent to nobody).
INSERT INTO deliveries (delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body,
                        traceparent, channel, status, last_error, dead_at, needs_ack, origin, rendered)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
        CASE WHEN $14 THEN 'skipped' WHEN $11::text IS NULL THEN 'pending' ELSE 'dead' END, $11::text,
        CASE WHEN $11::text IS NULL OR $14 THEN NULL ELSE clock_timestamp() END, $12, $13,
        $11::text IS NULL)
ON CONFLICT (event_id, recipient_id, channel) DO NOTHING
RETURNING true;

-- name: save_routed_event
INSERT INTO routed_events (event_id, document, facts) VALUES ($1, $2::jsonb, $3::jsonb)
ON CONFLICT (event_id) DO NOTHING;

-- name: routed_event
SELECT document, facts FROM routed_events WHERE event_id = $1;

-- name: find
-- The delivery log in case order, each delivery with the earlier unfinished (pending or dead) one of its
-- case, recipient, channel and ordering it waits for. $5 (jurisdictions) and $6 (recipients) are what
-- the reader may see: both NULL, everything. $7: only those delivered and waiting for their recipient's
-- acknowledgement (true) or only the others (false). $8: the latest delivered first (an inbox), else in case
-- order (the log).
SELECT d.delivery_id, d.event_id, d.recipient_id, d.case_id, d.seq, d.event_type, d.jurisdiction, d.body,
       d.traceparent, d.status, d.attempts, d.round_attempts, d.next_attempt_at, d.last_error, d.created_at,
       d.delivered_at, d.dead_at, d.dead_letter_published_at, d.resent_at, d.channel, d.needs_ack,
       d.acknowledged_at, d.ack_escalated_at, d.origin, d.rendered, d.failing_since, d.last_attempt_at,
       (SELECT e.delivery_id FROM deliveries e
        WHERE e.status IN ('pending', 'dead') AND e.recipient_id = d.recipient_id AND e.channel = d.channel
          AND e.case_id = d.case_id AND e.origin = d.origin AND e.seq < d.seq
        ORDER BY e.seq LIMIT 1) AS waiting_for
FROM deliveries d
WHERE ($1::uuid IS NULL OR d.case_id = $1) AND ($2::text IS NULL OR d.status = $2)
  AND ($4::text IS NULL OR d.recipient_id = $4)
  AND (($5::text[] IS NULL AND $6::text[] IS NULL) OR d.jurisdiction = ANY(coalesce($5::text[], '{}'))
       OR d.recipient_id = ANY(coalesce($6::text[], '{}')))
  AND ($7::boolean IS NULL
       OR (d.needs_ack AND d.acknowledged_at IS NULL AND d.status = 'delivered') = $7)
ORDER BY CASE WHEN $8::boolean THEN d.delivered_at END DESC NULLS LAST,
         d.case_id, d.origin, d.seq, d.recipient_id, d.channel
LIMIT $3;

-- name: for_resend
-- Finished deliveries of a status a bulk resend takes, in case order, locked; $4 and $6 as in find.
SELECT delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent,
       status, attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at,
       dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at, origin,
       rendered, failing_since, last_attempt_at
FROM deliveries
WHERE status = $1 AND channel <> 'receipt' AND ($2::text IS NULL OR recipient_id = $2)
  AND ($3::uuid IS NULL OR case_id = $3)
  AND (($4::text[] IS NULL AND $5::text[] IS NULL) OR jurisdiction = ANY(coalesce($4::text[], '{}'))
       OR recipient_id = ANY(coalesce($5::text[], '{}')))
ORDER BY case_id, origin, seq
LIMIT $6
FOR UPDATE;

-- name: get
SELECT delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent,
       status, attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at,
       dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at, origin,
       rendered, failing_since, last_attempt_at
FROM deliveries WHERE delivery_id = $1;

-- name: lock
SELECT delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent,
       status, attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at,
       dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at, origin,
       rendered, failing_since, last_attempt_at
FROM deliveries WHERE delivery_id = $1
FOR UPDATE;

-- name: attempts
SELECT attempt, at, status_code, error, duration_ms, settled FROM delivery_attempts
WHERE delivery_id = $1 ORDER BY attempt;

-- name: reopen
-- Back in the queue with a fresh attempt budget; $2, when given, is the body written again.
UPDATE deliveries SET status = 'pending', round_attempts = 0, next_attempt_at = clock_timestamp(),
    resent_at = clock_timestamp(), dead_at = NULL, failing_since = NULL,
    body = coalesce($2, body), rendered = rendered OR $2 IS NOT NULL
WHERE delivery_id = $1;
