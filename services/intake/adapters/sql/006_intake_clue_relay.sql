-- Accepted clues are intake's outbox: the relay (cluetrail.outbox, table accepted_clues) publishes the
-- rows without published_at in id order, in the request's trace. A clue stored during a broker outage is
-- published as soon as Kafka answers, whether or not its reporter retries.
ALTER TABLE accepted_clues ADD COLUMN IF NOT EXISTS traceparent text;
