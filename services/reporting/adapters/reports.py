"""The named tables read from the projection for a reader: the cases they may see (``domain.reports.Scope``),
the period, the filters, the as-of version; a submitted month as it was sent, with its adjustment rows;
and a month's annex tables sealed for submission with the log positions they were computed from.

Shared by the HTTP API, the dashboard and ``cluetrail report export``; the rules are ``domain.reports``
and ``domain.tables``, the reads ``reads`` and ``submissions``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from cluetrail.errors import InvalidInput
from cluetrail.settings import CommonSettings
from contracts.envelope import Actor
from contracts.jurisdictions import JurisdictionRegistry
from contracts.reports import ReportSubmitted, seal_submission
from services.reporting.adapters import reads
from services.reporting.adapters.projector import CASE_CONSUMER, stored_positions
from services.reporting.adapters.submissions import submission, submissions_of, submitted_at
from services.reporting.adapters.versions import readable_schema, use_schema
from services.reporting.domain import reports as R
from services.reporting.domain import tables as T
from services.reporting.domain.handoffs import Regions
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.submissions import already_submitted, require_submittable


async def build_table(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: R.ReportQuery,
    scope: R.Scope,
    now: datetime | None = None,
    regions: Regions | None = None,
) -> T.Table:
    """The table ``query`` names, over the cases ``scope`` allows, with its title, columns and rows; a
    ledger shows a handoff between regions as ``regions`` reads it (this deployment's; default: one region).

    An as-of view is the table as it stood at the projection's instant: that instant is "now" (for the
    ageing lists and the deadlines), and only the submissions recorded by then count (a month submitted
    by then is served as it was frozen; later months carry the adjustment rows they then carried)."""
    if query.table not in R.TABLES:
        raise InvalidInput(f"no table {query.table!r}; tables: {', '.join(R.TABLES)}", rule="reporting.table")
    instant = await reads.as_of_instant(conn, query.as_of) if query.as_of is not None else None
    if instant is not None:
        instant = instant.astimezone(CST)
    now = instant or now or datetime.now(CST)
    # Submissions and adjustments concern an office's whole table: not a filtered or police view.
    whole = not query.filtered and not scope.police_only
    submitted = (
        await submissions_of(conn, scope.root, until=instant) if whole and query.table in R.ANNEX else {}
    )
    frozen = submitted.get(str(query.period))
    if frozen is not None and not query.live:
        return R.frozen_table(registry, query, scope, frozen)
    whole_ledger = scope.everything and query.table in R.LEDGER_TABLES
    if query.table in R.LEDGER_TABLES:
        codes = None if whole_ledger else R.subtree(registry, scope.root)
        police = True if scope.police_only else None
        where = reads.LedgerFilter(
            jurisdictions=codes,
            status=query.status,
            grade=query.grade,
            key_case=True if query.table == "key_risks" else query.key_case,
            sector=query.sector,
            transferred_to_police=police,
            open_only=True if query.table == "risks" else None,
            # The ledger of a subtree lists what it handed to another region; the risk lists only the
            # risks it holds.
            handed_out=True if query.table == "ledger" and police is None else None,
        )
        rows = await reads.all_ledger_rows(conn, where, query.as_of)
        table = T.ledger_table(query.table, rows, registry, regions)
    else:
        # One snapshot for the table and its adjustment rows.
        async with reads.snapshot(conn, query.as_of):
            table = await _period_table(conn, registry, query, scope, query.period, now, instant)
            if submitted and query.table in ADJUSTMENTS:
                table.rows.extend(await _adjustment_rows(conn, registry, query, scope, submitted, now))
    table.meta.update(
        {
            "jurisdiction": None if whole_ledger else scope.root,
            "jurisdiction_name": R.WHOLE_LEDGER if whole_ledger else registry.get(scope.root).name,
            "period": str(query.period),
            "period_label": query.period.label,
            "as_of": query.as_of,
            "submitted": False,
        }
    )
    return table


# How each annex table corrects its submitted months: figures by row key, the register by case.
ADJUSTMENTS = {
    "work": R.figure_adjustments,
    "disposal": R.figure_adjustments,
    "cross_province": R.register_adjustments,
}


async def _adjustment_rows(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: R.ReportQuery,
    scope: R.Scope,
    submitted: dict[str, dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """The adjustment rows of ``query.table`` for every submitted month before ``query.period``, each from
    that month's table as the projection computes it now."""
    adjust = ADJUSTMENTS[query.table]
    rows: list[dict[str, Any]] = []
    for period_text in R.adjusted_periods(submitted, query.period):
        current = await _period_table(conn, registry, query, scope, Period.parse(period_text), now)
        rows.extend(adjust(query.table, query.period, period_text, submitted, current.rows))
    return rows


async def _period_table(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: R.ReportQuery,
    scope: R.Scope,
    period: Period,
    now: datetime,
    submitted_until: datetime | None = None,
) -> T.Table:
    """``query.table`` of ``period`` computed from the projection (inside the caller's snapshot); the
    deadlines count the submissions recorded up to ``submitted_until`` (None: all).

    Work and disposal figures are summed by PostgreSQL over the month rows the projector keeps
    (reads.work_groups / disposal_groups), and only the grouped result is rolled up here; the lists
    replay the few cases they can contain. A version without month rows (an as-of projection built by
    older code) replays every case: the same functions, the same figures."""
    root, name = scope.root, query.table
    if name == "deadlines":
        submitted = await submitted_at(conn, period, until=submitted_until)
        return T.deadlines(registry, root, period, submitted, now)
    codes = R.subtree(registry, root)
    # ageing: as at the end of the period, or now for the current month
    at = min(period.end, now)
    if name in ("work", "disposal") and await reads.month_rows_kept(conn, query.as_of):
        where = reads.CaseFilter(codes, scope.police_only, query.sector, query.grade, query.status)
        if name == "work":
            return T.work_table(
                await reads.work_groups(conn, where, period, query.as_of), registry, root, period
            )
        groups = await reads.disposal_groups(conn, where, period, query.as_of)
        return T.disposal_table(groups, registry, root, period)
    cases, _ = await reads.table_cases(
        conn,
        codes,
        police_only=scope.police_only,
        sector=query.sector,
        grade=query.grade,
        status=query.status,
        as_of=query.as_of,
        only=R.NARROWED.get(name),
        period=period,
        # Filed at least two years before ``at`` (two days' margin for time zones and 29 February).
        filed_before=at - timedelta(days=2 * 365 - 2),
    )
    if name == "work":
        return T.work_statistics(cases, registry, root, period)
    if name == "disposal":
        return T.disposal_statistics(cases, registry, root, period)
    if name == "cross_province":
        return T.cross_province_register(cases, registry, root, period)
    if name == "no_fundraising":
        return T.no_fundraising_communities(cases, registry, root, period)
    return T.ageing(cases, registry, root, at)


async def build_tables(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: R.ReportQuery,
    scope: R.Scope,
    now: datetime | None = None,
    regions: Regions | None = None,
) -> list[T.Table]:
    """``query.table`` as a list of tables: the three annex tables for ``annex``, else the one named."""
    names = R.ANNEX if query.table == "annex" else (query.table,)
    return [
        await build_table(conn, registry, replace(query, table=name), scope, now, regions) for name in names
    ]


async def prepare_submission(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    settings: CommonSettings,
    actor: Actor,
    jurisdiction: str,
    period: Period,
    now: datetime,
) -> ReportSubmitted:
    """The annex tables of ``period`` for ``jurisdiction`` and the log positions, read in one snapshot of
    the live projection and sealed into a ``report-submitted`` record (contracts.reports)."""
    require_submittable(registry, jurisdiction, period, now)
    first = await submission(conn, jurisdiction, period)
    if first is not None:
        raise already_submitted(jurisdiction, period, first)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        schema = await readable_schema(conn, None)
        await use_schema(conn, schema)
        positions = await stored_positions(conn, CASE_CONSUMER, settings.case_topic)
        query = R.ReportQuery("annex", period, live=True)
        tables = await build_tables(conn, registry, query, R.Scope(jurisdiction), now)
    return seal_submission(
        jurisdiction=jurisdiction,
        period=str(period),
        submitted_by=actor,
        projection=schema,
        case_topic=settings.case_topic,
        positions=positions,
        tables=[
            {"name": t.name, "title": t.title, "columns": t.as_json()["columns"], "rows": t.rows}
            for t in tables
        ],
    )
