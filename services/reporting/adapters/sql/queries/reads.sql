-- What the HTTP API reads. Run with search_path set to the active (or requested as-of) version's schema.
-- Every filter is optional: a NULL parameter leaves it out. In count_cases and page_cases, $10 adds to the
-- subtree $1 the cases handed from a place of it to another region (the last such handoff's from end; read
-- through to_jsonb, so an as-of projection built before the column was kept reads as having none).

-- name: listed_cases
-- The filter of count_cases and page_cases (a part of them, not run by itself).
WHERE ($1::text[] IS NULL OR jurisdiction = ANY($1::text[])
       OR ($10::boolean AND to_jsonb(ledger)#>>'{handoff_across_regions,from_jurisdiction}' = ANY($1::text[])))
  AND ($2::text IS NULL OR status = $2)
  AND ($3::text IS NULL OR grade = $3)
  AND ($4::boolean IS NULL OR key_case = $4)
  AND ($5::text IS NULL OR sector = $5)
  AND ($6::timestamptz IS NULL OR reported_at >= $6)
  AND ($7::timestamptz IS NULL OR reported_at <= $7)
  AND ($8::boolean IS NULL OR transferred_to_police = $8)
  AND ($9::boolean IS NULL OR (status NOT IN ('closed', 'written_off', 'merged')) = $9)

-- name: count_cases
SELECT count(*) FROM ledger
-- include: listed_cases

-- name: page_cases
SELECT * FROM ledger
-- include: listed_cases
ORDER BY reported_at DESC, case_id DESC
OFFSET $11 LIMIT $12;

-- name: as_of_instant
-- The instant of a projection version (NULL: a numbered version, read as now).
SELECT as_of FROM reporting_meta.projection_versions WHERE schema_name = $1;

-- name: log_began
-- When the case log's first event was recorded: every case begins with its clue (seq 1), whose recorded_at
-- is the case's reported_at (read backwards along ledger_newest).
SELECT min(reported_at) FROM ledger;

-- name: one_case
SELECT * FROM ledger WHERE case_id = $1;

-- name: case_history
SELECT seq, event_id, type, schema_version, occurred_at, recorded_at, actor, prev_hash, hash, payload
FROM history WHERE case_id = $1 ORDER BY seq;

-- name: case_positions
SELECT seq, event_id, kafka_partition, kafka_offset FROM history WHERE case_id = $1 ORDER BY seq;

-- name: grade_counts
SELECT jurisdiction, grade, cases FROM grade_counts WHERE cases <> 0 ORDER BY jurisdiction, grade;

-- name: tabled_cases
-- The filter of table_cases and cases_at_end (a part of them, not run by itself): cases that ever
-- belonged to the subtree $1, optionally only those sent to the police ($2), of sector $3, grade $4,
-- status $5.
WHERE ($1::text[] IS NULL OR case_id IN (SELECT case_id FROM history WHERE jurisdiction = ANY($1::text[])))
  AND ($2::boolean IS NULL OR transferred_to_police = $2)
  AND ($3::text IS NULL OR sector = $3)
  AND ($4::text IS NULL OR grade = $4)
  AND ($5::text IS NULL OR status = $5)

-- name: table_cases
-- The cases a table is computed from: those that ever belonged to the subtree (NULL: all; the table
-- places each where it stood at the end of its period), optionally only those sent to the police.
-- $6 narrows them to the only cases a table can list (NULL: all): 'regions' those with another region
-- involved or ever offered or handed to another place (the cross-province register); 'filed' those with a police transfer, police acceptance or
-- criminal filing dated before $8 (the ageing lists: filed at least two years before their instant;
-- NULL $8: any date); 'new' those whose clue occurred or which were determined in [$7, $8) (the
-- no-fundraising figures: new clues, and new cases counted in the month they were determined).
SELECT * FROM ledger
-- include: tabled_cases
  AND ($6::text IS NULL
       OR ($6 = 'regions' AND (jsonb_array_length(regions_involved) > 0 OR case_id IN (
               SELECT case_id FROM history WHERE type IN ('handoff-requested', 'handoff-accepted'))))
       OR ($6 = 'filed' AND case_id IN (
               SELECT case_id FROM history
               WHERE (type = 'escalated' AND ($8::timestamptz IS NULL OR occurred_at < $8))
                  OR (type = 'police-accepted'
                      AND ($8::timestamptz IS NULL OR (payload->>'accepted_at')::timestamptz < $8))
                  OR (type = 'key-case-flagged' AND payload->>'criminal_filed_on' IS NOT NULL
                      AND ($8::timestamptz IS NULL OR (payload->>'criminal_filed_on')::date < $8::date))))
       OR ($6 = 'new' AND case_id IN (
               SELECT case_id FROM history
               WHERE (seq = 1 OR type = 'determined') AND occurred_at >= $7 AND occurred_at < $8)))
ORDER BY reported_at, case_id;

-- name: table_history
-- Payloads without their long free text and evidence lists, which no table counts.
SELECT case_id, seq, type, occurred_at, jurisdiction,
       -- A grade before assessed v3 keeps its factors: they hold the case's figures (graded_figures).
       CASE WHEN type = 'assessed' AND NOT payload ? 'participants' THEN payload ELSE payload - 'factors' END
               - 'description' - 'evidence' - 'reporter' - 'suggestions' - 'overrides' - 'basis'
               - 'summary' - 'detail' - 'reason' - 'note' AS payload
FROM history
WHERE case_id = ANY($1::uuid[]) ORDER BY case_id, seq;

-- name: has_case_months
-- Whether this version keeps month rows (an as-of projection built by older code does not).
SELECT to_regclass('case_months') IS NOT NULL;

-- name: cases_at_end
-- The CTEs of work_groups and disposal_groups (a part of them, not run by itself): the chosen cases
-- (filters as in table_cases) and each one's latest month row up to period $6.
WITH chosen AS (
    SELECT case_id FROM ledger
    -- include: tabled_cases
), at_end AS (
    SELECT DISTINCT ON (m.case_id) m.*
    FROM case_months m JOIN chosen USING (case_id)
    WHERE m.period <= $6
    ORDER BY m.case_id, m.period DESC
)

-- name: work_groups
-- The work statistics of period $6, summed per place at its end: each chosen case (filters as in
-- table_cases) counted from its latest month row up to $6; its figures count only if that row is of $6.
-- include: cases_at_end
, this_month AS (
    SELECT * FROM at_end WHERE present AND period = $6
)
SELECT end_jurisdiction AS jurisdiction,
       sum(new_clues) AS new_clues, sum(from_grid) AS from_grid, sum(from_public) AS from_public,
       sum(from_monitoring) AS from_monitoring, sum(from_referral) AS from_referral,
       sum(participants) AS participants, sum(amount_yuan) AS amount_yuan, sum(determined) AS determined,
       sum(measures) AS measures, sum(to_police) AS to_police, sum(police_accepted) AS police_accepted,
       sum(closed) AS closed, sum(recovered_yuan) AS recovered_yuan, sum(rewards_yuan) AS rewards_yuan,
       0 AS open_at_end
FROM this_month GROUP BY end_jurisdiction
UNION ALL
SELECT end_jurisdiction, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, count(*)
FROM at_end WHERE present AND end_open GROUP BY end_jurisdiction;

-- name: disposal_groups
-- The disposal table of period $6 ($7 <= t < $8), per place, sector, grade and determination at its end.
-- include: cases_at_end
SELECT end_jurisdiction AS jurisdiction, coalesce(end_sector, 'unspecified') AS sector,
       coalesce(end_grade, 'ungraded') AS grade, end_determination AS determination,
       count(*) AS total,
       count(*) FILTER (WHERE clue_at >= $7 AND clue_at < $8) AS new,
       count(*) FILTER (WHERE end_transferred) AS to_police,
       count(*) FILTER (WHERE end_accepted) AS police_accepted,
       count(*) FILTER (WHERE end_closed) AS closed,
       count(*) FILTER (WHERE end_open) AS open,
       sum(end_amount_yuan) AS amount_yuan, sum(end_participants) AS participants,
       sum(end_recovered_yuan) AS recovered_yuan
FROM at_end WHERE present
GROUP BY 1, 2, 3, 4;

-- name: chart_clues
-- The dashboard's clues by month and sector: cases now in the subtree $1 (NULL: all; $2: only those sent
-- to the police) reported in [$3, $4), counted per month of their report in China Standard Time and
-- their current sector.
SELECT to_char((reported_at AT TIME ZONE 'UTC') + interval '8 hours', 'YYYY-MM') AS period,
       coalesce(sector, 'unspecified') AS sector, count(*) AS clues
FROM ledger
WHERE ($1::text[] IS NULL OR jurisdiction = ANY($1::text[]))
  AND ($2::boolean IS NULL OR transferred_to_police = $2)
  AND reported_at >= $3 AND reported_at < $4
GROUP BY 1, 2;

-- name: chart_grades
-- The dashboard's grades by place: cases now in the subtree $1 ($2: only those sent to the police) per
-- current jurisdiction and grade.
SELECT jurisdiction, coalesce(grade, 'ungraded') AS grade, count(*) AS cases
FROM ledger
WHERE ($1::text[] IS NULL OR jurisdiction = ANY($1::text[]))
  AND ($2::boolean IS NULL OR transferred_to_police = $2)
GROUP BY 1, 2;
