-- A copy of another region's event (a case handed in, docs/regions.md) names the region it was written in:
-- the relay sends it with an origin-region header, so readers can tell it from this region's own.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS origin_region text;
