"""Submitted monthly tables (reporting_meta.submissions), projected from the report-submissions topic."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from contracts.reports import ReportSubmitted
from services.reporting.domain.periods import Period


async def submitted_at(
    conn: asyncpg.Connection, period: Period, until: datetime | None = None
) -> dict[str, datetime]:
    """When each jurisdiction submitted ``period`` (absent: not yet, or not by ``until``)."""
    rows = await conn.fetch(
        "SELECT jurisdiction, submitted_at FROM reporting_meta.submissions "
        "WHERE period = $1 AND ($2::timestamptz IS NULL OR submitted_at <= $2)",
        str(period),
        until,
    )
    return {r["jurisdiction"]: r["submitted_at"] for r in rows}


async def submission(conn: asyncpg.Connection, jurisdiction: str, period: Period) -> dict[str, Any] | None:
    """The submission of ``period`` by ``jurisdiction``, with its frozen tables and log positions."""
    row = await conn.fetchrow(
        "SELECT * FROM reporting_meta.submissions WHERE jurisdiction = $1 AND period = $2",
        jurisdiction,
        str(period),
    )
    if row is None:
        return None
    values = dict(row)
    for name in ("submitted_by", "positions", "tables", "document"):
        values[name] = json.loads(values[name])
    return values


async def submissions_of(
    conn: asyncpg.Connection, jurisdiction: str, until: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Every submission of ``jurisdiction`` (recorded by ``until``, when given), by period."""
    rows = await conn.fetch(
        "SELECT period, submission_id, submitted_at, tables, positions, "
        "document->>'projection' AS projection FROM reporting_meta.submissions "
        "WHERE jurisdiction = $1 AND ($2::timestamptz IS NULL OR submitted_at <= $2) ORDER BY period",
        jurisdiction,
        until,
    )
    return {
        r["period"]: {
            "submission_id": str(r["submission_id"]),
            "submitted_at": r["submitted_at"],
            "tables": json.loads(r["tables"]),
            "positions": json.loads(r["positions"]),
            "projection": r["projection"],
        }
        for r in rows
    }


async def store_submission(
    conn: asyncpg.Connection, submission: ReportSubmitted, partition: int | None, offset: int | None
) -> bool:
    """Keep a submission: the first of a (jurisdiction, period) wins. True if this one is kept now.

    The submitting request records it before publishing (no topic position yet); the subscriber, reading
    it back from the topic, fills in its position (waiting for the request's transaction if it has not
    committed yet), or keeps it when this database has not seen it (a rebuild refilling the table)."""
    document = submission.model_dump(mode="json")
    try:
        # A savepoint inside the caller's transaction: a refused claim leaves that transaction usable.
        async with conn.transaction():
            kept = await conn.fetchval(
                "INSERT INTO reporting_meta.submissions (submission_id, jurisdiction, period, submitted_at, "
                "submitted_by, positions, tables, document, kafka_partition, kafka_offset) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                "ON CONFLICT (submission_id) DO UPDATE SET kafka_partition = EXCLUDED.kafka_partition, "
                "kafka_offset = EXCLUDED.kafka_offset "
                "WHERE submissions.kafka_offset IS NULL AND EXCLUDED.kafka_offset IS NOT NULL "
                "RETURNING true",
                submission.submission_id,
                submission.jurisdiction,
                submission.period,
                submission.submitted_at,
                json.dumps(document["submitted_by"], ensure_ascii=False),
                json.dumps(document["positions"]),
                json.dumps(document["tables"], ensure_ascii=False),
                json.dumps(document, ensure_ascii=False),
                partition,
                offset,
            )
    except asyncpg.UniqueViolationError:
        return False  # another submission holds the month
    return bool(kept)
