-- Case events and notify's own notices are two orderings of one case: a delivery says which it belongs
-- to (origin), so seq is unambiguous and each ordering holds per (recipient, channel, case).
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS origin text NOT NULL DEFAULT 'event'
    CHECK (origin IN ('event', 'notice'));
UPDATE deliveries SET origin = 'notice' WHERE event_id IN (SELECT notice_id FROM notices);

-- skipped: decided from history a new database folded (before its start of delivery), sent to nobody.
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'delivered', 'dead', 'skipped'));
-- receipt: a notice to the reporter, shown on the receipt (intake reads it from the notices topic).
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_channel_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_channel_check
    CHECK (channel IN ('webhook', 'email', 'sms', 'receipt'));

-- False when the notice could not be written (a template failed): the stored body is a placeholder, and
-- a resend writes it again from the source it keeps (routed_events or notices).
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS rendered boolean NOT NULL DEFAULT true;
-- The first failed attempt of the current round: the retry window counts from here.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS failing_since timestamptz;

-- A dead delivery holds the later ones of its case to the same recipient, like a pending one, so a
-- resend keeps the order.
DROP INDEX IF EXISTS deliveries_queue;
CREATE INDEX IF NOT EXISTS deliveries_queue ON deliveries (recipient_id, channel, case_id, origin, seq)
    WHERE status IN ('pending', 'dead');
CREATE INDEX IF NOT EXISTS deliveries_recipient ON deliveries (recipient_id, status);

-- The case event a delivery was written from, and the case's facts then: enough to write it again.
CREATE TABLE IF NOT EXISTS routed_events (
    event_id uuid PRIMARY KEY,
    document jsonb NOT NULL,
    facts jsonb NOT NULL
);

-- What a recipient needs to act on a case: the subject, sector, money at risk, participants. Never the
-- reporter.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS subject_name text;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS subject_kind text;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS sector text;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS estimated_amount_yuan bigint;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS participants bigint;

-- Where this database started telling anyone (written once, at its first start): case-topic offsets
-- below these, per partition, are history.
CREATE TABLE IF NOT EXISTS delivery_start (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    topic text NOT NULL,
    offsets jsonb NOT NULL,
    reason text NOT NULL,
    decided_at timestamptz NOT NULL DEFAULT now()
);

-- How far the notices topic was read back into this database (chain heads, dedupe keys).
CREATE TABLE IF NOT EXISTS notice_topic_positions (
    topic text NOT NULL,
    partition integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
CREATE INDEX IF NOT EXISTS notices_case ON notices (case_id, stream, seq);
