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

from cluetrail.errors import NotFound
from services.reporting.adapters import SQL
from services.reporting.adapters.versions import readable_schema, use_schema
from services.reporting.domain.periods import Period
from services.reporting.domain.tables import DISPOSAL_FIGURES, WORK_FIGURES, CaseRecord, Fact

Q = SQL.queries("reads")
# The ledger's jsonb columns, decoded for the API (an as-of projection built by older code lacks some).
LEDGER_JSON_COLUMNS = (
    "regions_involved", "flags", "measures", "key_case_reasons", "held_by", "handoff_pending",
    "handoff_across_regions",
)  # fmt: skip


@dataclass(frozen=True)
class LedgerFilter:
    """Which ledger rows to list; ``None`` leaves a filter out. ``jurisdictions`` is a whole subtree;
    ``handed_out`` adds the cases handed from a place of it to another region (they stand there now)."""

    jurisdictions: list[str] | None = None
    status: str | None = None
    grade: str | None = None
    key_case: bool | None = None
    sector: str | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    transferred_to_police: bool | None = None
    open_only: bool | None = None
    handed_out: bool | None = None

    def parameters(self) -> tuple[object, ...]:
        return (
            self.jurisdictions,
            self.status,
            self.grade,
            self.key_case,
            self.sector,
            self.reported_from,
            self.reported_to,
            self.transferred_to_police,
            self.open_only,
            self.handed_out,
        )


@asynccontextmanager
async def snapshot(conn: asyncpg.Connection, as_of: str | None = None) -> AsyncIterator[str]:
    """A read-only transaction aimed at the active version (or an as-of projection); yields its schema."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        schema = await readable_schema(conn, as_of)
        await use_schema(conn, schema)
        yield schema


async def as_of_instant(conn: asyncpg.Connection, as_of: str) -> datetime | None:
    """The instant of the as-of projection ``as_of`` names (None: a numbered version, read as now)."""
    async with snapshot(conn, as_of) as schema:
        instant: datetime | None = await conn.fetchval(Q["as_of_instant"], schema)
    return instant


async def ledger_page(
    conn: asyncpg.Connection, where: LedgerFilter, offset: int, limit: int, as_of: str | None = None
) -> tuple[list[dict[str, object]], int]:
    async with snapshot(conn, as_of):
        total = await conn.fetchval(Q["count_cases"], *where.parameters())
        rows = await conn.fetch(Q["page_cases"], *where.parameters(), offset, limit)
    return [_ledger_row(r) for r in rows], int(total)


async def log_began(conn: asyncpg.Connection) -> datetime | None:
    """When the case log's first event was recorded, as the live projection holds it (None: no event yet,
    or no live projection yet, which is the same on a new database)."""
    try:
        async with snapshot(conn):
            began: datetime | None = await conn.fetchval(Q["log_began"])
    except NotFound:
        return None
    return began


async def one_case(
    conn: asyncpg.Connection, case_id: uuid.UUID, as_of: str | None = None
) -> dict[str, object] | None:
    async with snapshot(conn, as_of):
        row = await conn.fetchrow(Q["one_case"], case_id)
    return _ledger_row(row) if row is not None else None


async def case_history(
    conn: asyncpg.Connection, case_id: uuid.UUID, as_of: str | None = None
) -> list[dict[str, object]]:
    async with snapshot(conn, as_of):
        rows = await conn.fetch(Q["case_history"], case_id)
    return [{**dict(r), "actor": json.loads(r["actor"]), "payload": json.loads(r["payload"])} for r in rows]


async def case_positions(
    conn: asyncpg.Connection, case_id: uuid.UUID, as_of: str | None = None
) -> list[dict[str, object]]:
    """Where each applied event of the case sits in the case log (seq, event id, partition, offset)."""
    async with snapshot(conn, as_of):
        rows = await conn.fetch(Q["case_positions"], case_id)
    return [dict(r) for r in rows]


async def grade_counts(conn: asyncpg.Connection, as_of: str | None = None) -> list[dict[str, object]]:
    async with snapshot(conn, as_of):
        rows = await conn.fetch(Q["grade_counts"])
    return [dict(r) for r in rows]


async def all_ledger_rows(
    conn: asyncpg.Connection, where: LedgerFilter, as_of: str | None = None
) -> list[dict[str, object]]:
    """Every ledger row the filter selects (for exports), newest report first."""
    async with snapshot(conn, as_of):
        rows = await conn.fetch(Q["page_cases"], *where.parameters(), 0, None)
    return [_ledger_row(r) for r in rows]


def _ledger_row(row: asyncpg.Record) -> dict[str, object]:
    values = dict(row)
    for name in LEDGER_JSON_COLUMNS:
        if isinstance(values.get(name), str):
            values[name] = json.loads(str(values[name]))
    return values


async def table_cases(
    conn: asyncpg.Connection,
    jurisdictions: list[str] | None,
    *,
    police_only: bool = False,
    sector: str | None = None,
    grade: str | None = None,
    status: str | None = None,
    as_of: str | None = None,
    only: str | None = None,
    period: Period | None = None,
    filed_before: datetime | None = None,
) -> tuple[list[CaseRecord], str]:
    """The cases a table is computed from, each with its facts; and the schema they were read from.

    ``only`` narrows them to a superset of the cases one table can list (table_cases in reads.sql), so
    the table computed from them is the one computed from all: 'regions', 'filed' (a transfer,
    acceptance or filing dated before ``filed_before``, when given), or 'new' (clue or determination in
    ``period``)."""
    start, end = (period.start, period.end) if period is not None else (None, None)
    if only == "filed":
        start, end = None, filed_before
    async with snapshot(conn, as_of) as schema:
        rows = await conn.fetch(
            Q["table_cases"],
            jurisdictions, True if police_only else None, sector, grade, status, only, start, end,
        )  # fmt: skip
        history = await conn.fetch(Q["table_history"], [r["case_id"] for r in rows])
    facts: dict[uuid.UUID, list[Fact]] = {}
    for h in history:
        facts.setdefault(h["case_id"], []).append(
            Fact(h["type"], h["occurred_at"], h["jurisdiction"], json.loads(h["payload"]))
        )
    # The list columns stay JSON text here: no table reads them, and decoding them is most of the cost.
    return [CaseRecord(dict(r), tuple(facts.get(r["case_id"], ()))) for r in rows], schema


@dataclass(frozen=True)
class CaseFilter:
    """Which cases a table counts (as ``table_cases``): ever in the subtree ``jurisdictions`` (None: all),
    and by their current ledger row, sent to the police, of a sector, grade or status."""

    jurisdictions: list[str] | None
    police_only: bool = False
    sector: str | None = None
    grade: str | None = None
    status: str | None = None

    def parameters(self) -> tuple[object, ...]:
        police = True if self.police_only else None
        return (self.jurisdictions, police, self.sector, self.grade, self.status)


async def month_rows_kept(conn: asyncpg.Connection, as_of: str | None = None) -> bool:
    """Whether the version read keeps month rows (as-of projections built by older code do not)."""
    async with snapshot(conn, as_of):
        return bool(await conn.fetchval(Q["has_case_months"]))


async def work_groups(
    conn: asyncpg.Connection, where: CaseFilter, period: Period, as_of: str | None = None
) -> list[tuple[str, dict[str, int]]]:
    """The work figures of ``period`` summed by PostgreSQL per place at the period's end."""
    async with snapshot(conn, as_of):
        rows = await conn.fetch(Q["work_groups"], *where.parameters(), str(period))
    return [(r["jurisdiction"], {key: int(r[key] or 0) for key in WORK_FIGURES}) for r in rows]


async def disposal_groups(
    conn: asyncpg.Connection, where: CaseFilter, period: Period, as_of: str | None = None
) -> list[tuple[str, str, dict[str, int]]]:
    """The disposal figures of ``period`` summed by PostgreSQL per place, sector, grade and determination
    at the period's end."""
    async with snapshot(conn, as_of):
        rows = await conn.fetch(
            Q["disposal_groups"], *where.parameters(), str(period), period.start, period.end
        )
    out = []
    for r in rows:
        figures = dict.fromkeys(DISPOSAL_FIGURES, 0)
        for key in ("total", "new", "to_police", "police_accepted", "closed", "open", "amount_yuan",
                    "participants", "recovered_yuan"):  # fmt: skip
            figures[key] = int(r[key] or 0)
        figures[f"grade_{r['grade']}"] = figures["total"]
        figures[f"det_{r['determination']}" if r["determination"] else "det_none"] = figures["total"]
        out.append((r["jurisdiction"], r["sector"], figures))
    return out


async def chart_clues(
    conn: asyncpg.Connection, jurisdictions: list[str], police_only: bool, since: datetime, until: datetime
) -> dict[tuple[str, str], int]:
    """Clues of the cases now in ``jurisdictions`` reported in [since, until), per (month, current sector)."""
    async with snapshot(conn):
        police = True if police_only else None
        rows = await conn.fetch(Q["chart_clues"], jurisdictions, police, since, until)
    return {(r["period"], r["sector"]): int(r["clues"]) for r in rows}


async def chart_grades(
    conn: asyncpg.Connection, jurisdictions: list[str], police_only: bool
) -> list[tuple[str, str, int]]:
    """(jurisdiction, grade or 'ungraded', cases) of the cases now in ``jurisdictions``."""
    async with snapshot(conn):
        rows = await conn.fetch(Q["chart_grades"], jurisdictions, True if police_only else None)
    return [(r["jurisdiction"], r["grade"], int(r["cases"])) for r in rows]
