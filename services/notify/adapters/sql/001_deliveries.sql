-- One delivery per (event, recipient): the notice to send, where it stands, and when to try next.
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id uuid PRIMARY KEY,
    event_id uuid NOT NULL,
    recipient_id text NOT NULL,
    case_id uuid NOT NULL,
    seq integer NOT NULL,
    event_type text NOT NULL,
    jurisdiction text NOT NULL,
    body text NOT NULL,
    traceparent text,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    round_attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    dead_at timestamptz,
    dead_letter_published_at timestamptz,
    resent_at timestamptz,
    UNIQUE (event_id, recipient_id)
);

-- The worker's question: which pending deliveries are due, and is an earlier one of the same
-- (recipient, case) still pending?
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (recipient_id, case_id, seq) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS deliveries_case ON deliveries (case_id, seq);
CREATE INDEX IF NOT EXISTS deliveries_dead_unpublished ON deliveries (dead_at)
    WHERE status = 'dead' AND dead_letter_published_at IS NULL;

-- Every attempt, successful or not: the delivery log.
CREATE TABLE IF NOT EXISTS delivery_attempts (
    delivery_id uuid NOT NULL REFERENCES deliveries (delivery_id),
    attempt integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    status_code integer,
    error text,
    duration_ms integer NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
