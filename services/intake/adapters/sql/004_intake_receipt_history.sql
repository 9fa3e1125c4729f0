-- A clue merged into another case (并案) is shown with that case's stage, not as closed.
ALTER TABLE receipts DROP CONSTRAINT IF EXISTS receipts_stage_check;
ALTER TABLE receipts ADD CONSTRAINT receipts_stage_check
    CHECK (stage IN ('received', 'under_review', 'in_handling', 'closed', 'merged'));
ALTER TABLE receipts ADD COLUMN IF NOT EXISTS merged_into uuid;

-- The changes of handling a reporter may see, with their day (rebuildable from the case log).
CREATE TABLE IF NOT EXISTS receipt_steps (
    case_id uuid    NOT NULL,
    seq     integer NOT NULL,
    stage   text    NOT NULL,
    label   text    NOT NULL,
    on_day  date    NOT NULL,
    PRIMARY KEY (case_id, seq)
);

-- Notify's notices to a case's reporter (reporter-update on the notices topic), shown on the receipt.
CREATE TABLE IF NOT EXISTS receipt_messages (
    notice_id   uuid        PRIMARY KEY,
    case_id     uuid        NOT NULL,
    stage       text,
    text        text        NOT NULL,
    on_day      date        NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS receipt_messages_case ON receipt_messages (case_id, recorded_at);
