-- Notify's own decisions (reminders, alerts, unacknowledged escalations), hash-chained per stream and
-- published to the notices topic; dedupe_key makes each decision once (a reminder per period, an alert
-- per death of a delivery) however often the scheduler looks.
CREATE TABLE IF NOT EXISTS notice_streams (
    stream text PRIMARY KEY,
    last_seq integer NOT NULL DEFAULT 0,
    last_hash text NOT NULL
);

CREATE TABLE IF NOT EXISTS notices (
    id bigserial PRIMARY KEY,
    notice_id uuid NOT NULL UNIQUE,
    dedupe_key text NOT NULL UNIQUE,
    stream text NOT NULL,
    seq integer NOT NULL,
    kind text NOT NULL,
    case_id uuid,
    jurisdiction text NOT NULL,
    document bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    UNIQUE (stream, seq)
);
CREATE INDEX IF NOT EXISTS notices_unpublished ON notices (id) WHERE published_at IS NULL;

-- Key-case notices must be acknowledged; one acknowledgement of (event, recipient) covers every channel.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS needs_ack boolean NOT NULL DEFAULT false;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS acknowledged_at timestamptz;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS ack_escalated_at timestamptz;
CREATE INDEX IF NOT EXISTS deliveries_awaiting_ack ON deliveries (delivered_at)
    WHERE needs_ack AND acknowledged_at IS NULL AND ack_escalated_at IS NULL;
