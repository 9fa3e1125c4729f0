-- Where each case of another region begins in that region's replicated case topic in THIS cluster
-- (<peer>.<prefix>.case-events): the partition and offset of its seq 1. When a case is handed to this region,
-- its chain is read from there. Offsets of this cluster only: no region ever cites another region's offsets.
CREATE TABLE IF NOT EXISTS peer_cases (
    peer         text    NOT NULL,
    case_id      uuid    NOT NULL,
    partition    integer NOT NULL,
    first_offset bigint  NOT NULL,
    PRIMARY KEY (peer, case_id)
);
