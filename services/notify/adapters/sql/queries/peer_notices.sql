-- The notices of peer regions as their replicated notices topics bring them (one hash chain per region and
-- stream; the last row of a chain is its head), and the acknowledgements their offices gave this region's
-- cross-region notices.

-- name: head
-- The last notice of region $1's stream $2 this region applied, locked for the caller's transaction.
SELECT seq, hash FROM peer_notices WHERE region = $1 AND stream = $2 ORDER BY seq DESC LIMIT 1 FOR UPDATE;

-- name: hash_at
SELECT hash FROM peer_notices WHERE region = $1 AND stream = $2 AND seq = $3;

-- name: keep
INSERT INTO peer_notices (region, stream, seq, notice_id, kind, hash) VALUES ($1, $2, $3, $4, $5, $6);

-- name: save_acknowledgement
INSERT INTO cross_region_acknowledgements
    (notice_id, region, recipient_id, recipient_name, acknowledged_at, ack_notice_id, ack_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (notice_id, region, recipient_id) DO NOTHING
RETURNING true;

-- name: acknowledgements
-- The acknowledgements of notices $1, each notice's in the order they were given.
SELECT notice_id, region, recipient_id, recipient_name, acknowledged_at, ack_notice_id
FROM cross_region_acknowledgements WHERE notice_id = ANY($1::uuid[])
ORDER BY notice_id, acknowledged_at, region, recipient_id;
