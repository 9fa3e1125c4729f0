-- Projection versions: their schemas, their records in reporting_meta.projection_versions, the pointer to
-- the live one and the advisory locks around them. PostgreSQL binds values, never names: a statement with
-- {schema} gets the schema written in, quoted and checked by versions.quoted.

-- name: projection_lock
-- Held (transaction-scoped) by every live consumer batch and by the rebuild's final catch-up and switch.
SELECT pg_advisory_xact_lock(hashtext('cluetrail-reporting-projection'));

-- name: wait_build_lock
SELECT pg_advisory_lock(hashtext($1));

-- name: try_build_lock
SELECT pg_try_advisory_lock(hashtext($1));

-- name: try_build_lock_for_transaction
SELECT pg_try_advisory_xact_lock(hashtext($1));

-- name: release_build_lock
SELECT pg_advisory_unlock(hashtext($1));

-- name: lock_holder
-- The session holding the advisory lock $1 (none: no session holds it), its application and since when.
-- pg_locks shows a one-key advisory lock as classid (high half of the key), objid (low half), objsubid 1.
SELECT l.pid, a.application_name, a.backend_start
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND l.classid::bigint = (hashtext($1)::bigint >> 32) & 4294967295
  AND l.objid::bigint = hashtext($1)::bigint & 4294967295
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database());

-- name: name_rebuild_session
SET application_name = 'cluetrail rebuild';

-- name: use_schema
SET LOCAL search_path TO {schema};

-- name: create_schema
CREATE SCHEMA {schema};

-- name: drop_schema_if_exists
DROP SCHEMA IF EXISTS {schema} CASCADE;

-- name: drop_schema
DROP SCHEMA {schema} CASCADE;

-- name: active_version
SELECT version FROM reporting_meta.active_projection;

-- name: aim_at_active
-- The live version (none: no row), whether the template of fingerprint $2 built it, and the transaction's
-- unqualified names pointed at its schema ($1 followed by its number, as versions.version_schema names it).
SELECT a.version, coalesce(v.template_sha256 = $2::text, false) AS current,
       set_config('search_path', quote_ident($1::text || a.version), true) AS search_path
FROM reporting_meta.active_projection a
LEFT JOIN reporting_meta.projection_versions v ON v.schema_name = $1::text || a.version;

-- name: record_building
-- A projection being built: recorded (or recorded again, for a leftover of the same name) as 'building'.
INSERT INTO reporting_meta.projection_versions (schema_name, version, as_of, template_sha256, state, error,
                                               requested_by)
VALUES ($1, $2, $3, $4, 'building', NULL, $5)
ON CONFLICT (schema_name) DO UPDATE SET version = $2, as_of = $3, built_at = now(), events = NULL, cases = NULL,
    template_sha256 = $4, state = 'building', error = NULL, requested_by = $5;

-- name: mark_ready
UPDATE reporting_meta.projection_versions SET state = 'ready' WHERE schema_name = $1;

-- name: activate_first
INSERT INTO reporting_meta.active_projection (version) VALUES (1);

-- name: switch_active
INSERT INTO reporting_meta.active_projection (version) VALUES ($1)
ON CONFLICT (singleton) DO UPDATE SET version = $1, switched_at = now();

-- name: version_schemas
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ledger_v%';

-- name: forget
DELETE FROM reporting_meta.projection_versions WHERE schema_name = $1;

-- name: record_build
UPDATE reporting_meta.projection_versions SET events = $2, cases = $3, built_at = now(), state = 'ready',
    error = NULL
WHERE schema_name = $1;

-- name: record_failure
UPDATE reporting_meta.projection_versions SET state = 'failed', error = $2, built_at = now()
WHERE schema_name = $1;

-- name: projection
SELECT schema_name, version, as_of, built_at, events, cases, state, error, requested_by
FROM reporting_meta.projection_versions WHERE schema_name = $1;
