"""Triage: folds each case's stream into its state, grades new clues under a versioned rule set,
escalates key and cross-region cases automatically, and records officers' determinations, escalations
and closings — every decision a new event in the case's hash chain, published through an outbox
(consumer group ``triage``; HTTP on port 8002)."""
