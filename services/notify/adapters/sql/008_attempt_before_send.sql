-- An attempt is counted, and committed, before it is made: a notify killed during a send still shows
-- the attempt (without an outcome). While an attempt is under way nobody else takes the delivery until
-- sending_until (the claim's lease) has passed: then the sender is presumed dead and another sends again.
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS last_attempt_at timestamptz;
ALTER TABLE deliveries ADD COLUMN IF NOT EXISTS sending_until timestamptz;
UPDATE deliveries d SET last_attempt_at = (SELECT max(a.at) FROM delivery_attempts a WHERE a.delivery_id = d.delivery_id)
    WHERE last_attempt_at IS NULL AND attempts > 0;
-- The outcome of an attempt is known only once it is settled.
ALTER TABLE delivery_attempts ALTER COLUMN duration_ms DROP NOT NULL;
ALTER TABLE delivery_attempts ADD COLUMN IF NOT EXISTS settled boolean NOT NULL DEFAULT true;
