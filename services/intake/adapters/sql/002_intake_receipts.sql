-- The receipt projection (consumer group intake-receipts): receipt digest -> case and the stage a
-- reporter may see. Rebuildable from the case log, which carries only the digest, never the code.
CREATE TABLE IF NOT EXISTS receipts (
    receipt_digest text        PRIMARY KEY,
    case_id        uuid        NOT NULL UNIQUE,
    stage          text        NOT NULL
        CHECK (stage IN ('received', 'under_review', 'in_handling', 'closed')),
    last_seq       integer     NOT NULL,
    last_hash      text        NOT NULL,
    updated_at     timestamptz NOT NULL
);
