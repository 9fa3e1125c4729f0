-- Whether a projection is complete: an as-of projection is read only once its build has finished
-- ('ready'); a build that failed keeps its reason. Projections built before this column were complete.
ALTER TABLE reporting_meta.projection_versions ADD COLUMN IF NOT EXISTS state text NOT NULL DEFAULT 'ready'
    CHECK (state IN ('building', 'ready', 'failed'));
ALTER TABLE reporting_meta.projection_versions ADD COLUMN IF NOT EXISTS error text;
ALTER TABLE reporting_meta.projection_versions ADD COLUMN IF NOT EXISTS requested_by text;
