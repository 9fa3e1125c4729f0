-- A submission is recorded here by the request that makes it, before it is published (the unique key on
-- (jurisdiction, period) is the claim: a concurrent second submission waits, then finds the first). Its
-- place on the report-submissions topic is filled in when reporting's subscriber reads it back.
ALTER TABLE reporting_meta.submissions ALTER COLUMN kafka_partition DROP NOT NULL;
ALTER TABLE reporting_meta.submissions ALTER COLUMN kafka_offset DROP NOT NULL;
