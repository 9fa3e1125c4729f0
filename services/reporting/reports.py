"""Building a named table for a reader: the cases they may see, the period, the filters, the as-of version.

Shared by the HTTP API, the dashboard and ``cluetrail report export``; access is decided before this runs
(``Scope``), so every caller gets the same figures for the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from cluetrail.auth import AccessPolicy, Principal, Role
from cluetrail.errors import Forbidden, InvalidInput
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.adapters import reads
from services.reporting.adapters.submissions import submissions_of, submitted_at
from services.reporting.domain import tables as T
from services.reporting.domain.periods import CST, Period

LEDGER_TABLES = ("ledger", "risks", "key_risks")
PERIOD_TABLES = ("work", "disposal", "cross_province", "no_fundraising", "deadlines")
TABLES = (*LEDGER_TABLES, *PERIOD_TABLES, "ageing")
ANNEX = ("work", "disposal", "cross_province")  # the three annex tables, sent together each month
EXPORTABLE = (*TABLES, "annex")


WHOLE_LEDGER = "全部辖区"  # the unit line of a ledger that covers every tree


@dataclass(frozen=True)
class Scope:
    """What a reader may see: a subtree root and whether only cases sent to the police.

    ``everything``: an auditor who named no jurisdiction; the case list and the ledger tables cover every
    case in the ledger (every root of the jurisdiction tree), the tree tables their own root's subtree."""

    root: str
    police_only: bool = False
    everything: bool = False


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
    live: bool = False  # compute a submitted month afresh instead of serving it as submitted

    @property
    def filtered(self) -> bool:
        return any(v is not None for v in (self.sector, self.grade, self.status, self.key_case))


def scope_for(policy: AccessPolicy, registry: JurisdictionRegistry, principal: Principal,
              jurisdiction: str | None) -> Scope:  # fmt: skip
    """The reader's scope: the requested subtree (default: their own), refused outside their subtree.

    Auditors read every subtree, and the whole ledger when they name none; police read theirs, limited to
    the cases transferred to them.
    """
    root = jurisdiction or principal.jurisdiction
    if root not in registry:
        raise InvalidInput(
            f"jurisdiction {root} is not in the jurisdiction tree", rule="reporting.jurisdiction"
        )
    auditor = principal.role is Role.AUDITOR
    if not auditor and not policy.covers(principal, root):
        raise Forbidden("not within your jurisdiction", rule="jurisdiction-subtree")
    return Scope(root, police_only=principal.role is Role.POLICE, everything=auditor and jurisdiction is None)


def subtree(registry: JurisdictionRegistry, root: str) -> list[str]:
    if root not in registry:
        raise InvalidInput(
            f"jurisdiction {root} is not in the jurisdiction tree", rule="reporting.jurisdiction"
        )
    return [node.code for node in registry.subtree(root)]


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
    """The table ``query`` names, over the cases ``scope`` allows, with its title, columns and rows.

    An as-of view is the table as it stood at the projection's instant: that instant is "now" (for the
    ageing lists and the deadlines), and only the submissions recorded by then count (a month submitted
    by then is served as it was frozen; later months carry the adjustment rows they then carried)."""
    if query.table not in TABLES:
        raise InvalidInput(f"no table {query.table!r}; tables: {', '.join(TABLES)}", rule="reporting.table")
    instant = await reads.as_of_instant(conn, query.as_of) if query.as_of is not None else None
    if instant is not None:
        instant = instant.astimezone(CST)
    now = instant or now or datetime.now(CST)
    # Submissions and adjustments concern an office's whole table: not a filtered or police view.
    whole = not query.filtered and not scope.police_only
    submitted = (
        await submissions_of(conn, scope.root, until=instant) if whole and query.table in ANNEX else {}
    )
    frozen = submitted.get(str(query.period))
    if frozen is not None and not query.live:
        return _frozen_table(registry, query, scope, frozen)
    whole_ledger = scope.everything and query.table in LEDGER_TABLES
    if query.table in LEDGER_TABLES:
        codes = None if whole_ledger else subtree(registry, scope.root)
        police = True if scope.police_only else None
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
        # One snapshot for the table and its adjustment rows.
        async with reads.snapshot(conn, query.as_of):
            table = await _period_table(conn, registry, query, scope, query.period, now, instant)
            if query.table in ADJUSTABLE and submitted:
                table.rows.extend(await adjustment_rows(conn, registry, query, scope, submitted, now))
            elif query.table == "cross_province" and submitted:
                table.rows.extend(await register_adjustments(conn, registry, query, scope, submitted, now))
    table.meta.update(
        {
            "jurisdiction": None if whole_ledger else scope.root,
            "jurisdiction_name": WHOLE_LEDGER if whole_ledger else registry.get(scope.root).name,
            "period": str(query.period),
            "period_label": query.period.label,
            "as_of": query.as_of,
            "submitted": False,
        }
    )
    return table


def _frozen_table(
    registry: JurisdictionRegistry, query: ReportQuery, scope: Scope, frozen: dict[str, Any]
) -> T.Table:
    """A submitted table exactly as it was sent, with what it was computed from."""
    sent = next(t for t in frozen["tables"] if t["name"] == query.table)
    columns = [T.Column(c["key"], c["header"]) for c in sent["columns"]]
    return T.Table(
        sent["name"],
        sent["title"],
        columns,
        rows=sent["rows"],
        meta={
            "jurisdiction": scope.root,
            "jurisdiction_name": registry.get(scope.root).name,
            "period": str(query.period),
            "period_label": query.period.label,
            "as_of": query.as_of,
            "submitted": True,
            "submission": frozen["submission_id"],
            "submitted_at": frozen["submitted_at"].isoformat(),
            "projection": frozen["projection"],
            "positions": frozen["positions"],
        },
    )


ADJUSTABLE = {"work": ("jurisdiction", "jurisdiction_name"), "disposal": ("sector", "sector_name")}


def _figures(name: str) -> list[str]:
    return T.WORK_FIGURES if name == "work" else T.DISPOSAL_FIGURES


async def adjustment_rows(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: ReportQuery,
    scope: Scope,
    submitted: dict[str, dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Rows correcting earlier submitted months (上期调整): for each submitted month before this one, what its
    table counts now minus what was sent for it (its submission plus the adjustments later submissions
    already carried). A late event for a submitted month shows here, never as a change to what was sent."""
    key, label = ADJUSTABLE[query.table]
    figures = _figures(query.table)
    rows: list[dict[str, Any]] = []
    for period_text in sorted(p for p in submitted if p < str(query.period)):
        earlier = Period.parse(period_text)
        names: dict[Any, str] = {}
        # What was sent for the month: its own rows, then what later submissions adjusted it by.
        sent = [r for r in _sent_rows(submitted[period_text], query.table) if r.get("adjusts") is None]
        for later_text, later in submitted.items():
            if period_text < later_text < str(query.period):
                sent.extend(r for r in _sent_rows(later, query.table) if r.get("adjusts") == period_text)
        reported = _sum_by(sent, key, label, figures)
        now_table = await _period_table(conn, registry, query, scope, earlier, now)
        current: dict[Any, dict[str, int]] = {}
        for row in now_table.rows:
            if row.get(key) is None and row.get(label) == "合计":
                continue
            current[row[key]] = {f: int(row[f]) for f in figures}
            names[row[key]] = str(row[label])
        for item in sorted(set(current) | set(reported), key=lambda k: str(k)):
            delta = {f: current.get(item, {}).get(f, 0) - reported.get(item, {}).get(f, 0) for f in figures}
            if any(delta.values()):
                rows.append(
                    {
                        "no": "调整",
                        "adjusts": period_text,
                        key: item,
                        label: f"（{earlier.label}调整）{names.get(item, item)}",
                        **delta,
                    }
                )
    return rows


# What an adjustment row of the cross-province register says happened to a case's row of an earlier month.
REGISTER_CHANGES = {"added": "补报", "changed": "更正", "withdrawn": "撤回"}
# The cells of a register row that can change (the name comes from the clue; the number is the order).
_REGISTER_CELLS = [c.key for c in T.CROSS_PROVINCE_COLUMNS if c.key not in ("no", "subject_name")] + [
    "jurisdiction"
]


async def register_adjustments(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: ReportQuery,
    scope: Scope,
    submitted: dict[str, dict[str, Any]],
    now: datetime,
) -> list[dict[str, Any]]:
    """Rows correcting the cross-province register of earlier submitted months: for each submitted month
    before this one, every case whose row for that month now differs from what was sent for it (its
    submission, then the adjustment rows later submissions carried, each replacing the case's row):
    补报 (added: a case the month's register lacked), 更正 (changed: its row as it now stands) or 撤回
    (withdrawn: no longer in that month's register; the row as it was sent)."""
    rows: list[dict[str, Any]] = []
    for period_text in sorted(p for p in submitted if p < str(query.period)):
        earlier = Period.parse(period_text)
        sent = {
            r["case_id"]: r
            for r in _sent_rows(submitted[period_text], query.table)
            if r.get("adjusts") is None
        }
        for later_text in sorted(submitted):
            if period_text < later_text < str(query.period):
                for r in _sent_rows(submitted[later_text], query.table):
                    if r.get("adjusts") != period_text:
                        continue
                    if r.get("adjustment") == "withdrawn":
                        sent.pop(r["case_id"], None)
                    else:
                        sent[r["case_id"]] = r
        current = {
            r["case_id"]: r for r in (await _period_table(conn, registry, query, scope, earlier, now)).rows
        }
        changes: list[tuple[str, dict[str, Any]]] = []
        for case_id in set(current) | set(sent):
            was, now_row = sent.get(case_id), current.get(case_id)
            if was is None and now_row is not None:
                changes.append(("added", now_row))
            elif was is not None and now_row is None:
                changes.append(("withdrawn", was))
            elif was is not None and now_row is not None and _cells(was) != _cells(now_row):
                changes.append(("changed", now_row))
        changes.sort(key=lambda change: (str(change[1]["reported_at"]), str(change[1]["case_id"])))
        for change, row in changes:
            name = row["subject_name"]
            if row.get("adjusts") is not None:  # a withdrawn row last sent as an adjustment: its own name
                name = name.split("）", 1)[1]
            rows.append(
                {
                    **{k: v for k, v in row.items() if k not in ("adjusts", "adjustment")},
                    "no": "调整",
                    "adjusts": period_text,
                    "adjustment": change,
                    "subject_name": f"（{earlier.label}调整·{REGISTER_CHANGES[change]}）{name}",
                }
            )
    return rows


def _cells(row: dict[str, Any]) -> list[Any]:
    return [row.get(key) for key in _REGISTER_CELLS]


def _sum_by(
    rows: list[dict[str, Any]], key: str, label: str, figures: list[str]
) -> dict[Any, dict[str, int]]:
    """Figures summed per row key, leaving out the 合计 row (it repeats the others)."""
    sums: dict[Any, dict[str, int]] = {}
    for row in rows:
        if row.get(key) is None and row.get(label) == "合计":
            continue
        target = sums.setdefault(row[key], dict.fromkeys(figures, 0))
        for f in figures:
            target[f] += int(row.get(f) or 0)
    return sums


def _sent_rows(frozen: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return next((t["rows"] for t in frozen["tables"] if t["name"] == name), [])


# The only cases a table can list (reads.table_cases ``only``); work and disposal count every case.
NARROWED = {"cross_province": "regions", "ageing": "filed", "no_fundraising": "new"}


async def _period_table(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    query: ReportQuery,
    scope: Scope,
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
    codes = subtree(registry, root)
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
        only=NARROWED.get(name),
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
    query: ReportQuery,
    scope: Scope,
    now: datetime | None = None,
) -> list[T.Table]:
    """``query.table`` as a list of tables: the three annex tables for ``annex``, else the one named."""
    names = ANNEX if query.table == "annex" else (query.table,)
    return [await build_table(conn, registry, replace(query, table=name), scope, now) for name in names]


def readable(policy: AccessPolicy, principal: Principal, row: dict[str, object]) -> bool:
    """May ``principal`` read this ledger row's case: its subtree holds it now or held it before a handoff."""
    return policy.can_read_case(
        principal,
        str(row["jurisdiction"]),
        transferred_to_police=bool(row["transferred_to_police"]),
        held_by=[str(held) for held in held_by] if isinstance(held_by := row.get("held_by"), list) else (),
    )
