"""Building a named table for a reader: the cases they may see, the period, the filters, the as-of version.

Shared by the HTTP API, the dashboard and ``cluetrail report export``; access is decided before this runs
(``Scope``), so every caller gets the same figures for the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from cluetrail.auth import AccessPolicy, Principal, Role
from cluetrail.errors import Forbidden, InvalidInput
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.adapters import reads
from services.reporting.adapters.submissions import submitted_at
from services.reporting.domain import tables as T
from services.reporting.domain.periods import CST, Period

LEDGER_TABLES = ("ledger", "risks", "key_risks")
PERIOD_TABLES = ("work", "disposal", "cross_province", "no_fundraising", "deadlines")
TABLES = (*LEDGER_TABLES, *PERIOD_TABLES, "ageing")
ANNEX = ("work", "disposal", "cross_province")  # the three annex tables, sent together each month
EXPORTABLE = (*TABLES, "annex")


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


def scope_for(policy: AccessPolicy, registry: JurisdictionRegistry, principal: Principal,
              jurisdiction: str | None) -> Scope:  # fmt: skip
    """The reader's scope: the requested subtree (default: their own), refused outside their subtree.

    Auditors read every subtree; police read theirs, limited to the cases transferred to them.
    """
    root = jurisdiction or principal.jurisdiction
    if root not in registry:
        raise InvalidInput(
            f"jurisdiction {root} is not in the jurisdiction tree", rule="reporting.jurisdiction"
        )
    if principal.role is not Role.AUDITOR and not policy.covers(principal, root):
        raise Forbidden("not within your jurisdiction", rule="jurisdiction-subtree")
    return Scope(root, police_only=principal.role is Role.POLICE)


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


async def build_tables(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: ReportQuery,
    scope: Scope,
    now: datetime | None = None,
) -> list[T.Table]:
    """``query.table`` as a list of tables: the three annex tables for ``annex``, else the one named."""
    names = ANNEX if query.table == "annex" else (query.table,)
    return [await build_table(conn, registry, replace(query, table=name), scope, now) for name in names]
