-- Acknowledgements: a notice that must be acknowledged is acknowledged once by its recipient for every
-- channel it went out on (its deliveries of one event or notice to one recipient).

-- name: awaiting
-- Notices delivered at or before $1 that must be acknowledged, that nobody acknowledged on any channel
-- and that were not taken up a level yet, locked (one row per channel). Columns as in deliveries.sql.
SELECT d.delivery_id, d.event_id, d.recipient_id, d.case_id, d.seq, d.event_type, d.jurisdiction, d.body,
       d.traceparent, d.status, d.attempts, d.round_attempts, d.next_attempt_at, d.last_error, d.created_at,
       d.delivered_at, d.dead_at, d.dead_letter_published_at, d.resent_at, d.channel, d.needs_ack,
       d.acknowledged_at, d.ack_escalated_at, d.origin, d.rendered, d.failing_since, d.last_attempt_at
FROM deliveries d
WHERE d.needs_ack AND d.status = 'delivered' AND d.acknowledged_at IS NULL AND d.ack_escalated_at IS NULL
  AND d.delivered_at <= $1
  AND NOT EXISTS (SELECT 1 FROM deliveries a
                  WHERE a.event_id = d.event_id AND a.recipient_id = d.recipient_id
                    AND a.acknowledged_at IS NOT NULL)
ORDER BY d.delivered_at
FOR UPDATE OF d SKIP LOCKED;

-- name: mark_escalated
UPDATE deliveries SET ack_escalated_at = clock_timestamp() WHERE event_id = $1 AND recipient_id = $2;

-- name: notice_of
SELECT event_id, recipient_id FROM deliveries WHERE delivery_id = $1;

-- name: acknowledge
UPDATE deliveries SET acknowledged_at = clock_timestamp()
WHERE event_id = $1 AND recipient_id = $2 AND acknowledged_at IS NULL;

-- name: first_acknowledged
SELECT min(acknowledged_at) FROM deliveries WHERE event_id = $1 AND recipient_id = $2;

-- name: acknowledged_at
-- When the notice of delivery $1 was first acknowledged by its recipient, on any channel.
SELECT min(a.acknowledged_at) FROM deliveries d
JOIN deliveries a ON a.event_id = d.event_id AND a.recipient_id = d.recipient_id
WHERE d.delivery_id = $1;
