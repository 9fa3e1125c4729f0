-- Where a case stood before each accepted handoff, oldest first: an alert about a case that left this
-- region goes to the office that handled it here.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS earlier_jurisdictions text[] NOT NULL DEFAULT '{}';

-- The notices of each peer region, as MirrorMaker replicates its notices topic into this cluster: one hash
-- chain per (region, stream), checked link by link like this region's own; the last row of a chain is its
-- head. Never cited by offset (offsets differ across clusters): a notice is its (stream, seq, hash).
CREATE TABLE IF NOT EXISTS peer_notices (
    region text NOT NULL,
    stream text NOT NULL,
    seq integer NOT NULL,
    notice_id uuid NOT NULL,
    kind text NOT NULL,
    hash text NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region, stream, seq)
);

-- The acknowledgements another region's offices gave this region's cross-region notices (read from that
-- region's cross-region-ack notices): one per notice, region and office.
CREATE TABLE IF NOT EXISTS cross_region_acknowledgements (
    notice_id uuid NOT NULL,
    region text NOT NULL,
    recipient_id text NOT NULL,
    recipient_name text,
    acknowledged_at timestamptz NOT NULL,
    ack_notice_id uuid NOT NULL,
    ack_hash text NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notice_id, region, recipient_id)
);
