-- Whether a reward (举报奖励) was granted for the clue behind a receipt: shown to the reporter.
ALTER TABLE receipts ADD COLUMN IF NOT EXISTS reward_granted boolean NOT NULL DEFAULT false;
