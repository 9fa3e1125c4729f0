-- Where this database started telling anyone, decided once at its first start.

-- name: lock
-- One instance decides (for the caller's transaction); others starting at the same moment wait.
SELECT pg_advisory_xact_lock(hashtext('notify-delivery-start'));

-- name: offsets
SELECT offsets FROM delivery_start;

-- name: applied
-- Whether this database applied case events before (an upgrade): consumer $1 has positions, or there
-- are deliveries.
SELECT EXISTS (SELECT 1 FROM consumer_positions WHERE consumer = $1) OR EXISTS (SELECT 1 FROM deliveries);

-- name: save
INSERT INTO delivery_start (topic, offsets, reason) VALUES ($1, $2::jsonb, $3);

-- name: positions
-- Whether consumer $1 has applied anything to this database.
SELECT EXISTS (SELECT 1 FROM consumer_positions WHERE consumer = $1);
