-- When the scheduler first saw a key-case notice delivered and unacknowledged, on the scheduler's own
-- clock (which tests may set): the acknowledgement timeout counts from here, never from wall time.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS ack_watch_from timestamptz;
