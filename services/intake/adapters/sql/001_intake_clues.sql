-- Every clue intake accepted, stored before it is published: the sealed event exactly as it goes to
-- Kafka, so a retry with the same Idempotency-Key republishes the very same bytes. published_at is
-- stamped once Kafka acknowledged the event (acks=all).
CREATE TABLE IF NOT EXISTS accepted_clues (
    id              bigserial   PRIMARY KEY,
    idempotency_key text        UNIQUE,
    request_digest  text        NOT NULL,
    case_id         uuid        NOT NULL UNIQUE,
    event_id        uuid        NOT NULL UNIQUE,
    receipt_code    text        NOT NULL UNIQUE,
    event           bytea       NOT NULL,
    recorded_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    published_at    timestamptz
);
CREATE INDEX IF NOT EXISTS accepted_clues_unpublished ON accepted_clues (id) WHERE published_at IS NULL;
