-- A notice goes out on each channel a route names: one delivery per (event, recipient, channel).
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS channel text NOT NULL DEFAULT 'webhook'
    CHECK (channel IN ('webhook', 'email', 'sms'));
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_event_id_recipient_id_key;
CREATE UNIQUE INDEX IF NOT EXISTS deliveries_once ON deliveries (event_id, recipient_id, channel);
DROP INDEX IF EXISTS deliveries_queue;
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (recipient_id, channel, case_id, seq)
    WHERE status = 'pending';

-- What notify knows of a case from its events: enough to route (the responsible department), to write
-- a notice (grade, key case) and to remind of a key case's limits. Never anything about the reporter.
CREATE TABLE IF NOT EXISTS cases (
    case_id uuid PRIMARY KEY,
    jurisdiction text NOT NULL,
    last_seq integer NOT NULL,
    grade text,
    key_case boolean NOT NULL DEFAULT false,
    responsible_department text,
    police_transferred_on date,
    criminal_filed_on date,
    trial_and_return_by date,
    supervision_from date,
    clearance_by date,
    closed boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
