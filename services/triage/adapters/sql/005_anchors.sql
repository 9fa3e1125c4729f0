-- Chain-head anchors (contracts.anchors, docs/regions.md "Audit across regions").
-- anchor_heads: for each case, the last event this region wrote as triage read it back from the region's own
-- case log (so never ahead of the log), and the seq of it last anchored. A case whose head moved past what
-- was anchored is in the partial index, which is all the anchorer reads.
CREATE TABLE IF NOT EXISTS anchor_heads (
    case_id      uuid    PRIMARY KEY,
    seq          integer NOT NULL,
    hash         text    NOT NULL,
    anchored_seq integer
);
CREATE INDEX IF NOT EXISTS anchor_heads_moved ON anchor_heads (case_id)
    WHERE anchored_seq IS NULL OR anchored_seq < seq;

-- This region's anchor chain, and the outbox the relay publishes it from (in id order) to <prefix>.anchors:
-- an anchor is stored in the same transaction as the anchored_seq it moves, so it is published exactly once
-- in effect (a resend after a crash is the same bytes, which readers skip as a duplicate).
CREATE TABLE IF NOT EXISTS anchors (
    id           bigserial   PRIMARY KEY,
    seq          integer     NOT NULL UNIQUE,
    anchor_id    uuid        NOT NULL UNIQUE,
    hash         text        NOT NULL,
    body         bytea       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS anchors_unpublished ON anchors (id) WHERE published_at IS NULL;
