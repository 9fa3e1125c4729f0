-- The secondary indexes of one projection version, on the tables of templates/projection.sql. Applied with
-- search_path set to the version's schema: when it is created empty (the first version, filled by the live
-- consumer), or by a build once its first pass over the case log has loaded the tables — one sort per index
-- then, where every row copied in would otherwise have updated each index on its way.
CREATE INDEX ledger_newest ON ledger (reported_at DESC, case_id DESC);
CREATE INDEX ledger_jurisdiction ON ledger (jurisdiction);
CREATE INDEX ledger_status ON ledger (status);
CREATE INDEX ledger_key_case ON ledger (key_case) WHERE key_case;
CREATE INDEX history_occurred ON history (occurred_at);
CREATE INDEX notices_of_case ON notices (case_id, recorded_at) WHERE case_id IS NOT NULL;
