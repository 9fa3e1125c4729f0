-- What may wait on an office: the open cases that touch its subtree.

-- name: open_cases_touching
-- Open cases ($1: the subtree's jurisdiction codes) that lie in it, were reported up to an office of it,
-- are offered to it in a handoff, or were transferred to its police; the most recently changed first.
SELECT state FROM cases
WHERE status NOT IN ('closed', 'written_off', 'merged')
  AND (jurisdiction = ANY($1::text[])
       OR state->>'escalated_to' = ANY($1::text[])
       OR state->'handoff'->>'to_jurisdiction' = ANY($1::text[])
       OR state->'police'->>'police_jurisdiction' = ANY($1::text[]))
ORDER BY updated_at DESC
LIMIT $2;
