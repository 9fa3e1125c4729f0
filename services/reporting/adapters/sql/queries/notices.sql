-- notify's notices in a projection version. Run with search_path set to that version's schema.

-- name: stream_heads
-- The last notice applied of each stream.
SELECT DISTINCT ON (stream) stream, seq, hash FROM notices
WHERE stream = ANY($1::text[]) ORDER BY stream, seq DESC;

-- name: hash_at_seq
SELECT hash FROM notices WHERE stream = $1 AND seq = $2;

-- name: insert_notice
INSERT INTO notices (stream, seq, notice_id, kind, case_id, occurred_at, recorded_at, prev_hash, hash,
                     document, kafka_partition, kafka_offset)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12);

-- name: kept
-- Whether this version keeps notices (one built before reporting read the notices topic does not).
SELECT to_regclass('notices') IS NOT NULL;

-- name: case_notices
-- A case's notices in the order notify recorded them (each stream's seq order within an instant): those
-- about it, and the whole of its own stream (named by its id), so its chain can be followed from seq 1.
SELECT document FROM notices WHERE case_id = $1 OR stream = $1::text ORDER BY recorded_at, stream, seq;
