-- Notify's notices, hash-chained per stream (notice_streams holds each chain's head), published to the
-- notices topic in the order they were recorded, and read back from it by a rebuilt database
-- (notice_topic_positions: how far).

-- name: open_stream
INSERT INTO notice_streams (stream, last_seq, last_hash) VALUES ($1, 0, $2) ON CONFLICT (stream) DO NOTHING;

-- name: lock_head
SELECT last_seq, last_hash FROM notice_streams WHERE stream = $1 FOR UPDATE;

-- name: recorded
SELECT 1 FROM notices WHERE dedupe_key = $1;

-- name: insert
INSERT INTO notices (notice_id, dedupe_key, stream, seq, kind, case_id, jurisdiction, document)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: advance_head
UPDATE notice_streams SET last_seq = $2, last_hash = $3 WHERE stream = $1;

-- name: document
SELECT document FROM notices WHERE notice_id = $1;

-- name: find
-- Notices of a case ($1) or a stream ($2) in chain order, as the reader may see them: of cases in
-- jurisdictions $3, or naming recipients $4 (both NULL: everything).
SELECT document, published_at FROM notices
WHERE ($1::uuid IS NULL OR case_id = $1) AND ($2::text IS NULL OR stream = $2)
  AND (($3::text[] IS NULL AND $4::text[] IS NULL) OR jurisdiction = ANY(coalesce($3::text[], '{}'))
       OR convert_from(document, 'UTF8')::jsonb -> 'recipients' ?| coalesce($4::text[], '{}'))
ORDER BY stream, seq
LIMIT $5;

-- name: publisher_lock
-- One publisher at a time (for the caller's transaction) keeps each stream's notices in seq order.
SELECT pg_try_advisory_xact_lock(hashtext('notify-notices'));

-- name: unpublished
SELECT id, stream, kind, document FROM notices WHERE published_at IS NULL ORDER BY id LIMIT $1;

-- name: mark_published
UPDATE notices SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[]);

-- name: topic_positions
SELECT partition, next_offset FROM notice_topic_positions WHERE topic = $1;

-- name: save_topic_position
INSERT INTO notice_topic_positions (topic, partition, next_offset) VALUES ($1, $2, $3)
ON CONFLICT (topic, partition) DO UPDATE
    SET next_offset = greatest(notice_topic_positions.next_offset, EXCLUDED.next_offset);

-- name: insert_read_back
-- A notice read back from the topic (already published), unless this database holds it.
INSERT INTO notices (notice_id, dedupe_key, stream, seq, kind, case_id, jurisdiction, document,
                     published_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, clock_timestamp())
ON CONFLICT DO NOTHING;

-- name: read_back_head
-- The stream's head moves to a notice read back, never back.
INSERT INTO notice_streams (stream, last_seq, last_hash) VALUES ($1, $2, $3)
ON CONFLICT (stream) DO UPDATE SET last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash
WHERE notice_streams.last_seq < EXCLUDED.last_seq;
