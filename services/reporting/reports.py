"""Building a named table for a reader: the cases they may see, the period, the filters, the as-of version.

Shared by the HTTP API, the dashboard and ``cluetrail report export``; access is decided before this runs
(``Scope``), so every caller gets the same figures for the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from cluetrail.errors import InvalidInput
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.adapters import reads
from services.reporting.adapters.submissions import submitted_at
from services.reporting.domain import tables as T
from services.reporting.domain.periods import CST, Period

LEDGER_TABLES = ("ledger", "risks", "key_risks")
PERIOD_TABLES = ("work", "disposal", "cross_province", "no_fundraising", "deadlines")
TABLES = (*LEDGER_TABLES, *PERIOD_TABLES, "ageing")
SUBMITTABLE = ("work", "disposal", "cross_province")


@dataclass(frozen=True)
class Scope:
    """What a reader may see: a subtree root and whether only cases sent to the police."""

    root: str
    police_only: bool = False


@dataclass(frozen=True)
class ReportQuery:
    """Which table, for which month, with which filters (None leaves a filter out)."""

    table: str
    period: Period
    sector: str | None = None
    grade: str | None = None
    status: str | None = None
    key_case: bool | None = None
    as_of: str | None = None


def subtree(registry: JurisdictionRegistry, root: str) -> list[str]:
    if root not in registry:
        raise InvalidInput(
            f"jurisdiction {root} is not in the jurisdiction tree", rule="reporting.jurisdiction"
        )
    return [node.code for node in registry.all() if registry.is_within(node.code, root)]


def parse_period(text: str | None, now: datetime) -> Period:
    if text is None:
        return Period.of(now)
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise InvalidInput(str(exc), rule="reporting.period") from None


async def build_table(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: ReportQuery,
    scope: Scope,
    now: datetime | None = None,
) -> T.Table:
    """The table ``query`` names, over the cases ``scope`` allows, with its title, columns and rows."""
    if query.table not in TABLES:
        raise InvalidInput(f"no table {query.table!r}; tables: {', '.join(TABLES)}", rule="reporting.table")
    now = now or datetime.now(CST)
    codes = subtree(registry, scope.root)
    police = True if scope.police_only else None
    if query.table in LEDGER_TABLES:
        where = reads.LedgerFilter(
            jurisdictions=codes,
            status=query.status,
            grade=query.grade,
            key_case=True if query.table == "key_risks" else query.key_case,
            sector=query.sector,
            transferred_to_police=police,
            open_only=True if query.table == "risks" else None,
        )
        rows = await reads.all_ledger_rows(conn, where, query.as_of)
        table = T.ledger_table(query.table, rows, registry)
    else:
        cases, _ = await reads.table_cases(
            conn,
            codes,
            police_only=scope.police_only,
            sector=query.sector,
            grade=query.grade,
            status=query.status,
            as_of=query.as_of,
        )
        table = await _period_table(conn, registry, query, scope, cases, now)
    table.meta.update(
        {
            "jurisdiction": scope.root,
            "jurisdiction_name": registry.get(scope.root).name,
            "period": str(query.period),
            "period_label": query.period.label,
            "as_of": query.as_of,
        }
    )
    return table


async def _period_table(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: ReportQuery,
    scope: Scope,
    cases: list[T.CaseRecord],
    now: datetime,
) -> T.Table:
    period, root = query.period, scope.root
    if query.table == "work":
        return T.work_statistics(cases, registry, root, period)
    if query.table == "disposal":
        return T.disposal_statistics(cases, registry, root, period)
    if query.table == "cross_province":
        return T.cross_province_register(cases, registry, root, period)
    if query.table == "no_fundraising":
        return T.no_fundraising_communities(cases, registry, root, period)
    if query.table == "deadlines":
        return T.deadlines(registry, root, period, await submitted_at(conn, period), now)
    # ageing: as at the end of the period, or now for the current month
    return T.ageing(cases, registry, root, min(period.end, now))
