-- Events a service decided, written in the same transaction as the decision and the position it came
-- from. The relay publishes them to Kafka in id order and stamps published_at.
CREATE TABLE IF NOT EXISTS outbox (
    id           bigserial   PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    case_id      uuid        NOT NULL,
    seq          integer     NOT NULL,
    event        bytea       NOT NULL,
    traceparent  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
