-- The SHA-256 of the projection template a version was built from: a version built by an older template
-- lacks columns the code writes, so the service rebuilds beside it before its consumer goes on.
ALTER TABLE reporting_meta.projection_versions ADD COLUMN IF NOT EXISTS template_sha256 text;
