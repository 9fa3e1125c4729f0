-- What notify knows of each case from its events (services.notify.domain.cases.CaseFacts). Its columns,
-- in the order every statement reads and writes them: case_id, jurisdiction, last_seq, grade, key_case,
-- responsible_department, police_transferred_on, criminal_filed_on, trial_and_return_by, supervision_from,
-- clearance_by, closed, subject_name, subject_kind, sector, estimated_amount_yuan, participants, hashes,
-- earlier_jurisdictions, key_case_reasons.

-- name: load
SELECT case_id, jurisdiction, last_seq, grade, key_case, responsible_department, police_transferred_on,
       criminal_filed_on, trial_and_return_by, supervision_from, clearance_by, closed, subject_name,
       subject_kind, sector, estimated_amount_yuan, participants, hashes, earlier_jurisdictions, key_case_reasons
FROM cases WHERE case_id = $1;

-- name: load_many_for_update
SELECT case_id, jurisdiction, last_seq, grade, key_case, responsible_department, police_transferred_on,
       criminal_filed_on, trial_and_return_by, supervision_from, clearance_by, closed, subject_name,
       subject_kind, sector, estimated_amount_yuan, participants, hashes, earlier_jurisdictions, key_case_reasons
FROM cases WHERE case_id = ANY($1::uuid[]) ORDER BY case_id
FOR UPDATE;

-- name: save
INSERT INTO cases (case_id, jurisdiction, last_seq, grade, key_case, responsible_department,
                   police_transferred_on, criminal_filed_on, trial_and_return_by, supervision_from,
                   clearance_by, closed, subject_name, subject_kind, sector, estimated_amount_yuan,
                   participants, hashes, earlier_jurisdictions, key_case_reasons)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
ON CONFLICT (case_id) DO UPDATE SET
    jurisdiction = EXCLUDED.jurisdiction, last_seq = EXCLUDED.last_seq, grade = EXCLUDED.grade,
    key_case = EXCLUDED.key_case, responsible_department = EXCLUDED.responsible_department,
    police_transferred_on = EXCLUDED.police_transferred_on, criminal_filed_on = EXCLUDED.criminal_filed_on,
    trial_and_return_by = EXCLUDED.trial_and_return_by, supervision_from = EXCLUDED.supervision_from,
    clearance_by = EXCLUDED.clearance_by, closed = EXCLUDED.closed, subject_name = EXCLUDED.subject_name,
    subject_kind = EXCLUDED.subject_kind, sector = EXCLUDED.sector,
    estimated_amount_yuan = EXCLUDED.estimated_amount_yuan, participants = EXCLUDED.participants,
    hashes = EXCLUDED.hashes, earlier_jurisdictions = EXCLUDED.earlier_jurisdictions,
    key_case_reasons = EXCLUDED.key_case_reasons, updated_at = now();

-- name: open_key_cases
-- Key cases not closed that have a limit to remind of.
SELECT case_id, jurisdiction, last_seq, grade, key_case, responsible_department, police_transferred_on,
       criminal_filed_on, trial_and_return_by, supervision_from, clearance_by, closed, subject_name,
       subject_kind, sector, estimated_amount_yuan, participants, hashes, earlier_jurisdictions, key_case_reasons
FROM cases
WHERE key_case AND NOT closed
  AND (trial_and_return_by IS NOT NULL OR supervision_from IS NOT NULL OR clearance_by IS NOT NULL);

-- name: known
SELECT 1 FROM cases WHERE case_id = $1;
