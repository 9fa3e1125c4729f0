-- Submitted monthly tables (reporting_meta.submissions), projected from the report-submissions topic.

-- name: submitted_at
-- When each jurisdiction submitted period $1 (recorded by $2, when given).
SELECT jurisdiction, submitted_at FROM reporting_meta.submissions
WHERE period = $1 AND ($2::timestamptz IS NULL OR submitted_at <= $2);

-- name: submission
SELECT * FROM reporting_meta.submissions WHERE jurisdiction = $1 AND period = $2;

-- name: submissions_of
-- Every submission of jurisdiction $1 (recorded by $2, when given), by period.
SELECT period, submission_id, submitted_at, tables, positions, document->>'projection' AS projection
FROM reporting_meta.submissions
WHERE jurisdiction = $1 AND ($2::timestamptz IS NULL OR submitted_at <= $2) ORDER BY period;

-- name: store
-- The first submission of a (jurisdiction, period) is kept (the unique key refuses a second one); one kept
-- before its topic position was known gets it once the subscriber reads it back. true: kept or filled in.
INSERT INTO reporting_meta.submissions (submission_id, jurisdiction, period, submitted_at, submitted_by,
                                        positions, tables, document, kafka_partition, kafka_offset)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (submission_id) DO UPDATE SET kafka_partition = EXCLUDED.kafka_partition,
    kafka_offset = EXCLUDED.kafka_offset
WHERE submissions.kafka_offset IS NULL AND EXCLUDED.kafka_offset IS NOT NULL
RETURNING true;
