"""Submitted monthly tables (reporting_meta.submissions), projected from the report-submissions topic."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from services.reporting.domain.periods import Period


async def submitted_at(conn: asyncpg.Connection, period: Period) -> dict[str, datetime]:
    """When each jurisdiction submitted ``period`` (absent: not yet)."""
    rows = await conn.fetch(
        "SELECT jurisdiction, submitted_at FROM reporting_meta.submissions WHERE period = $1", str(period)
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
