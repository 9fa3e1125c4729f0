-- Where other regions' cases begin in their replicated case topics of this cluster.

-- name: remember
INSERT INTO peer_cases (peer, case_id, partition, first_offset) VALUES ($1, $2, $3, $4)
ON CONFLICT (peer, case_id) DO NOTHING;

-- name: start_of
SELECT partition, first_offset FROM peer_cases WHERE peer = $1 AND case_id = $2;
