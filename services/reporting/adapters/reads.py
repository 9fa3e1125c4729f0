"""What the API reads: the ledger, one case, its history and the grade counts, from one projection version.

Every read runs in one read-only snapshot whose search_path names the active version (read inside the
same snapshot), so a page and its total agree and a rebuild's switch never shows a half-built version.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.reporting.adapters.sqlfiles import queries
from services.reporting.adapters.versions import readable_schema, use_schema

SQL = queries("reads")


@dataclass(frozen=True)
class LedgerFilter:
    """Which ledger rows to list; ``None`` leaves a filter out. ``jurisdictions`` is a whole subtree."""

    jurisdictions: list[str] | None = None
    status: str | None = None
    grade: str | None = None
    key_case: bool | None = None
    sector: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None

    def parameters(self) -> tuple[object, ...]:
        return (
            self.jurisdictions,
            self.status,
            self.grade,
            self.key_case,
            self.sector,
            self.reported_from,
            self.reported_to,
        )


@asynccontextmanager
async def snapshot(conn: asyncpg.Connection, as_of: str | None = None) -> AsyncIterator[str]:
    """A read-only transaction aimed at the active version (or an as-of projection); yields its schema."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        schema = await readable_schema(conn, as_of)
        await use_schema(conn, schema)
        yield schema


async def ledger_page(
    conn: asyncpg.Connection, where: LedgerFilter, offset: int, limit: int, as_of: str | None = None
) -> tuple[list[dict[str, object]], int]:
    async with snapshot(conn, as_of):
        total = await conn.fetchval(SQL["count_cases"], *where.parameters())
        rows = await conn.fetch(SQL["page_cases"], *where.parameters(), offset, limit)
    return [dict(r) for r in rows], int(total)


async def one_case(
    conn: asyncpg.Connection, case_id: uuid.UUID, as_of: str | None = None
) -> dict[str, object] | None:
    async with snapshot(conn, as_of):
        row = await conn.fetchrow(SQL["one_case"], case_id)
    return dict(row) if row is not None else None


async def case_history(
    conn: asyncpg.Connection, case_id: uuid.UUID, as_of: str | None = None
) -> list[dict[str, object]]:
    async with snapshot(conn, as_of):
        rows = await conn.fetch(SQL["case_history"], case_id)
    return [{**dict(r), "actor": json.loads(r["actor"]), "payload": json.loads(r["payload"])} for r in rows]


async def grade_counts(conn: asyncpg.Connection, as_of: str | None = None) -> list[dict[str, object]]:
    async with snapshot(conn, as_of):
        rows = await conn.fetch(SQL["grade_counts"])
    return [dict(r) for r in rows]
