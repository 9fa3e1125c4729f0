-- The offset a position had before the batch that last moved it: a batch moves its positions when it
-- locks them (consume.ExactlyOnceConsumer) and reads this back to skip the records applied before it.
ALTER TABLE consumer_positions ADD COLUMN IF NOT EXISTS offset_before bigint NOT NULL DEFAULT -1;
