-- Triage's state of each case: the columns officers and operators query, plus the whole folded state
-- (services.triage.domain.state.CaseState) as JSON. last_seq/last_hash are the end of the case's chain;
-- every decision on a case holds its row FOR UPDATE, so one case never gets two events at one seq.
CREATE TABLE IF NOT EXISTS cases (
    case_id      uuid        PRIMARY KEY,
    status       text        NOT NULL,
    jurisdiction text        NOT NULL,
    grade        text,
    score        integer,
    key_case     boolean     NOT NULL DEFAULT false,
    determination text,
    outcome      text,
    last_seq     integer     NOT NULL,
    last_hash    text        NOT NULL,
    state        jsonb       NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS cases_open ON cases (case_id) WHERE status <> 'closed';

-- The chain triage holds for each case, one row per event, so an event coming back from the log at a seq
-- triage already has is recognised as the same event (skip) or as a conflicting one (dead letter).
CREATE TABLE IF NOT EXISTS case_events (
    case_id  uuid    NOT NULL,
    seq      integer NOT NULL,
    event_id uuid    NOT NULL,
    type     text    NOT NULL,
    hash     text    NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- Facts about this database itself, e.g. that it has caught up with the log once (see entrypoints/consumers.py).
CREATE TABLE IF NOT EXISTS triage_meta (
    key        text        PRIMARY KEY,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
