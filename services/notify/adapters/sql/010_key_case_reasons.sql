-- Why a case is a key case (the reasons of its grades and officers' flags): a key-case escalation's notice
-- names them in Chinese from these codes, not from the English reason triage wrote in the event. A case
-- folded before has none until its next grade or flag; its notice then says 列为重点案件 without them.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS key_case_reasons text[] NOT NULL DEFAULT '{}';
