-- Evidence files by the SHA-256 of their content.

-- name: store
-- A file already kept under its digest is the same file: nothing to do.
INSERT INTO evidence (sha256, media_type, size_bytes, content) VALUES ($1, $2, $3, $4)
ON CONFLICT (sha256) DO NOTHING;

-- name: by_digest
SELECT sha256, media_type, size_bytes, content FROM evidence WHERE sha256 = $1;
