-- How many as-of projections are kept, and for how long (their records: reporting_meta.projection_versions).

-- name: as_of_projections
-- Every as-of projection recorded, the first to go first: unfinished ones (failed, or interrupted) before
-- ready ones, then the oldest built.
SELECT schema_name, as_of, state, built_at, requested_by FROM reporting_meta.projection_versions
WHERE as_of IS NOT NULL AND schema_name LIKE 'ledger\_asof\_%'
ORDER BY state = 'ready', built_at, schema_name;
