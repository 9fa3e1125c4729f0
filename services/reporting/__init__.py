"""Reporting: the case ledger, case histories and grade statistics, projected from the case log.

Projections live in a versioned PostgreSQL schema (``ledger_vN``) named by
``reporting_meta.active_projection``; ``cluetrail rebuild`` builds the next version beside the live one and
switches atomically, and ``cluetrail audit verify`` replays the log to check every case's hash chain.

It reads top-down: ``domain/`` (the rules), ``entrypoints/`` (HTTP routes and dashboard, Kafka subscribers,
operator commands), ``adapters/`` (its tables, SQL in ``adapters/sql/``), ``dependencies`` and
``bootstrap`` (the wiring), ``settings``.
"""
