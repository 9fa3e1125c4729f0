-- Which projection version the API and the live consumer use. Each version is a schema ledger_vN built
-- from sql/templates/projection.sql; cluetrail rebuild builds the next one beside it and switches here.
CREATE SCHEMA IF NOT EXISTS reporting_meta;

CREATE TABLE IF NOT EXISTS reporting_meta.active_projection (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    integer NOT NULL CHECK (version >= 1),
    switched_at timestamptz NOT NULL DEFAULT now()
);

-- Every projection built, live or as-of, with what it was built from.
CREATE TABLE IF NOT EXISTS reporting_meta.projection_versions (
    schema_name text PRIMARY KEY,
    version     integer,
    as_of       timestamptz,
    built_at    timestamptz NOT NULL DEFAULT now(),
    events      bigint,
    cases       bigint
);
