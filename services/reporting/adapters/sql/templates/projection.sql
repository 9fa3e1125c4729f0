-- The tables of one projection version. Applied with search_path set to the new, empty schema
-- (ledger_vN or ledger_asof_<stamp>), so every name below lands in that schema.

-- The dynamic management ledger: one row per case, the fields of contracts.api.LedgerRow.
CREATE TABLE ledger (
    case_id               uuid PRIMARY KEY,
    jurisdiction          text NOT NULL,
    status                text NOT NULL,
    source                text NOT NULL,
    subject_name          text NOT NULL,
    credit_code           text,
    sector                text,
    estimated_amount_yuan bigint,
    participants          bigint,
    grade                 text,
    score                 integer,
    key_case              boolean NOT NULL,
    determination         text,
    outcome               text,
    recovered_amount_yuan bigint NOT NULL,
    escalations           integer NOT NULL,
    reported_at           timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    last_seq              integer NOT NULL,
    last_hash             text NOT NULL,
    -- What the annex tables need (docs/reporting.md says which event sets each column).
    department            text,
    regions_involved      jsonb NOT NULL,
    flags                 jsonb NOT NULL,
    measures              jsonb NOT NULL,
    key_case_reasons      jsonb NOT NULL,
    determined_at         timestamptz,
    transferred_to_police boolean NOT NULL,
    police_jurisdiction   text,
    transferred_at        timestamptz,
    police_accepted_at    timestamptz,
    police_case_number    text,
    closed_at             timestamptz,
    written_off           boolean NOT NULL,
    reopened              integer NOT NULL,
    rewards_yuan          bigint NOT NULL,
    linked_clues          integer NOT NULL,
    merged_into           text,
    supervising_leader    text,
    held_by               jsonb NOT NULL,
    -- Handoffs (services/reporting/domain/handoffs.py): the one waiting for its answer, and the last one
    -- accepted between two regions; each {from_jurisdiction, to_jurisdiction, from_region, to_region, at}.
    handoff_pending       jsonb,
    handoff_across_regions           jsonb
);

-- Every applied event of every case, with where it sits in the log.
CREATE TABLE history (
    case_id         uuid    NOT NULL,
    seq             integer NOT NULL,
    event_id        uuid    NOT NULL,
    type            text    NOT NULL,
    schema_version  integer NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    actor           jsonb   NOT NULL,
    prev_hash       text    NOT NULL,
    hash            text    NOT NULL,
    payload         jsonb   NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint  NOT NULL,
    jurisdiction    text    NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- Cases per (jurisdiction, grade), kept by increments as events are applied (never recounted), so it
-- is only right if every event is applied exactly once.
CREATE TABLE grade_counts (
    jurisdiction text   NOT NULL,
    grade        text   NOT NULL,
    cases        bigint NOT NULL,
    PRIMARY KEY (jurisdiction, grade)
);

-- Where this version stands in the log; the live consumer and rebuild both write it with the effects.
CREATE TABLE consumer_positions (
    consumer   text    NOT NULL,
    topic      text    NOT NULL,
    partition  integer NOT NULL,
    "offset"   bigint  NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- Where the position stood before the batch that last moved it (cluetrail/sql/004_*).
    offset_before bigint NOT NULL DEFAULT -1,
    PRIMARY KEY (consumer, topic, partition)
);

-- Each case at the end of every month in which one of its facts occurred, with that month's work
-- figures (services/reporting/domain/tables.py: CaseMonth), written by the projector with the ledger.
-- A month's work and disposal tables sum each case's latest row up to that month (GROUP BY here, the
-- roll-up along the jurisdiction tree on the grouped result).
CREATE TABLE case_months (
    case_id               uuid    NOT NULL,
    period                text    NOT NULL,  -- YYYY-MM, China Standard Time
    present               boolean NOT NULL,
    end_jurisdiction      text,
    end_sector            text,
    end_grade             text,
    end_determination     text,
    end_open              boolean NOT NULL,
    end_closed            boolean NOT NULL,
    end_transferred       boolean NOT NULL,
    end_accepted          boolean NOT NULL,
    end_recovered_yuan    bigint  NOT NULL,
    clue_at               timestamptz,
    end_amount_yuan       bigint  NOT NULL,  -- the case's figures counted at the month's end
    end_participants      bigint  NOT NULL,
    new_clues             integer NOT NULL,
    from_grid             integer NOT NULL,
    from_public           integer NOT NULL,
    from_monitoring       integer NOT NULL,
    from_referral         integer NOT NULL,
    participants          bigint  NOT NULL,
    amount_yuan           bigint  NOT NULL,
    determined            integer NOT NULL,
    measures              integer NOT NULL,
    to_police             integer NOT NULL,
    police_accepted       integer NOT NULL,
    closed                integer NOT NULL,
    recovered_yuan        bigint  NOT NULL,
    rewards_yuan          bigint  NOT NULL,
    PRIMARY KEY (case_id, period)
);

-- notify's notices (the <prefix>.notices topic: reminders, unacknowledged escalations, delivery alerts,
-- notices to reporters), each stream's chain checked as they are applied. Those with a case_id belong to
-- that case's timeline; the others (monthly report reminders) are kept for their streams' chains.
CREATE TABLE notices (
    stream          text    NOT NULL,
    seq             integer NOT NULL,
    notice_id       uuid    NOT NULL,
    kind            text    NOT NULL,
    case_id         uuid,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    prev_hash       text    NOT NULL,
    hash            text    NOT NULL,
    document        text    NOT NULL,  -- the notice as written on the topic (its hash covers it)
    kafka_partition integer NOT NULL,
    kafka_offset    bigint  NOT NULL,
    PRIMARY KEY (stream, seq)
);
