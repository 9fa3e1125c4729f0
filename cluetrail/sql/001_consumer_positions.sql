-- Where each consumer of this database stands in each partition. Updated in the same transaction as
-- the effects of the records up to that offset, so a redelivered record is recognised and skipped.
CREATE TABLE IF NOT EXISTS consumer_positions (
    consumer   text    NOT NULL,
    topic      text    NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint  NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
