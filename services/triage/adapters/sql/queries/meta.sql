-- Facts about this database itself (triage_meta), and the lock one catch-up with the log holds.

-- name: get
SELECT value FROM triage_meta WHERE key = $1;

-- name: set
INSERT INTO triage_meta (key, value) VALUES ($1, $2::jsonb)
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();

-- name: lock
SELECT pg_advisory_lock(hashtext($1));

-- name: unlock
SELECT pg_advisory_unlock(hashtext($1));
