-- Evidence files uploaded with clues, named by the SHA-256 of their content (the clue's event records the
-- digest, never the file): a file named by several clues is kept once.
CREATE TABLE IF NOT EXISTS evidence (
    sha256     text        PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    media_type text        NOT NULL,
    size_bytes bigint      NOT NULL CHECK (size_bytes = octet_length(content)),
    content    bytea       NOT NULL,
    stored_at  timestamptz NOT NULL DEFAULT now()
);
