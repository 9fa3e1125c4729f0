-- Monthly tables offices submitted, as projected from the report-submissions topic (the record of truth:
-- this table can be dropped and refilled from it). The first submission of a (jurisdiction, period) is
-- the one that counts; figures and log positions are stored exactly as frozen in the event.
CREATE TABLE IF NOT EXISTS reporting_meta.submissions (
    submission_id   uuid PRIMARY KEY,
    jurisdiction    text NOT NULL,
    period          text NOT NULL,
    submitted_at    timestamptz NOT NULL,
    submitted_by    jsonb NOT NULL,
    positions       jsonb NOT NULL,
    tables          jsonb NOT NULL,
    document        jsonb NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    UNIQUE (jurisdiction, period)
);
