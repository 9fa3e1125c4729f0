-- Chain-head anchors: the heads this region wrote, as read back from its case log, and its anchor chain.

-- name: note_head
INSERT INTO anchor_heads (case_id, seq, hash) VALUES ($1, $2, $3)
ON CONFLICT (case_id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash
    WHERE anchor_heads.seq < EXCLUDED.seq;

-- name: lock
-- One anchorer at a time per database, for the transaction: each anchor continues the last one.
SELECT pg_advisory_xact_lock(hashtext('triage-anchors'));

-- name: moved_heads
-- Rows a consumer batch holds are left for the next anchor rather than waited for.
SELECT case_id, seq, hash FROM anchor_heads
WHERE anchored_seq IS NULL OR anchored_seq < seq
ORDER BY case_id
LIMIT $1
FOR UPDATE SKIP LOCKED;

-- name: last
SELECT seq, hash FROM anchors ORDER BY seq DESC LIMIT 1;

-- name: insert
INSERT INTO anchors (seq, anchor_id, hash, body) VALUES ($1, $2, $3, $4);

-- name: mark_anchored
UPDATE anchor_heads AS h SET anchored_seq = GREATEST(coalesce(h.anchored_seq, 0), a.seq)
FROM unnest($1::uuid[], $2::integer[]) AS a (case_id, seq)
WHERE h.case_id = a.case_id;

-- name: read_back
-- An anchor of this region read back from its anchors topic (a database rebuilt or restored from a backup):
-- kept as published unless this database holds its seq already.
INSERT INTO anchors (seq, anchor_id, hash, body, published_at) VALUES ($1, $2, $3, $4, now())
ON CONFLICT (seq) DO NOTHING;

-- name: hash_at
SELECT hash FROM anchors WHERE seq = $1;

-- name: read_back_heads
-- Heads an anchor read back names: anchored, and the head at least there.
INSERT INTO anchor_heads AS h (case_id, seq, hash, anchored_seq)
SELECT a.case_id, a.seq, a.hash, a.seq FROM unnest($1::uuid[], $2::integer[], $3::text[]) AS a (case_id, seq, hash)
ON CONFLICT (case_id) DO UPDATE SET
    seq = GREATEST(h.seq, EXCLUDED.seq),
    hash = CASE WHEN EXCLUDED.seq > h.seq THEN EXCLUDED.hash ELSE h.hash END,
    anchored_seq = GREATEST(coalesce(h.anchored_seq, 0), EXCLUDED.seq);
