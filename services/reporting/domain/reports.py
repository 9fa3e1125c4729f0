"""Which table a reader asks for and what they may see of it, and how a month sent already is corrected:
the rules behind every named table, shared by the HTTP API, the dashboard and ``cluetrail report export``.
Pure: the tables are read from the projection by ``adapters.reports``, which applies these rules.

Access is decided here before any table is read (``Scope``), so every caller gets the same figures for the
same scope. A submitted month (报送) is served as it was frozen, and a later event for it shows as an
adjustment row (上期调整) of a later month, never as a change to what was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cluetrail.auth import AccessPolicy, Principal, Role
from cluetrail.errors import Forbidden, InvalidInput
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import tables as T
from services.reporting.domain.periods import Period

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


def readable(policy: AccessPolicy, principal: Principal, row: dict[str, object]) -> bool:
    """May ``principal`` read this ledger row's case: its subtree holds it now or held it before a handoff
    (a case handed to another region keeps its trail readable where it was), or its district lead office is
    asked to take it over (a handoff waiting for its answer, from this region or another). Auditors read
    every case, whatever region or tree it stands in."""
    pending = row.get("handoff_pending")
    return policy.can_read_case(
        principal,
        str(row["jurisdiction"]),
        transferred_to_police=bool(row["transferred_to_police"]),
        held_by=[str(held) for held in held_by] if isinstance(held_by := row.get("held_by"), list) else (),
        offered_to=str(pending["to_jurisdiction"]) if isinstance(pending, dict) else None,
    )


def frozen_table(
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


# The only cases a table can list (reads.table_cases ``only``); work and disposal count every case.
NARROWED = {"cross_province": "regions", "ageing": "filed", "no_fundraising": "new"}
# The tables whose figures are corrected by adjustment rows, with the key and label of their rows.
ADJUSTABLE = {"work": ("jurisdiction", "jurisdiction_name"), "disposal": ("sector", "sector_name")}


def adjusted_periods(submitted: dict[str, dict[str, Any]], period: Period) -> list[str]:
    """The submitted months before ``period`` a table of ``period`` may carry adjustment rows for."""
    return sorted(p for p in submitted if p < str(period))


def _figures(name: str) -> list[str]:
    return T.WORK_FIGURES if name == "work" else T.DISPOSAL_FIGURES


def figure_adjustments(
    table: str,
    period: Period,
    period_text: str,
    submitted: dict[str, dict[str, Any]],
    current_rows: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Rows correcting the submitted month ``period_text`` in the ``table`` of ``period`` (上期调整): what its
    table counts now (``current_rows``) minus what was sent for it (its submission plus the adjustments
    later submissions already carried). A late event for a submitted month shows here, never as a change
    to what was sent."""
    key, label = ADJUSTABLE[table]
    figures = _figures(table)
    earlier = Period.parse(period_text)
    names: dict[Any, str] = {}
    # What was sent for the month: its own rows, then what later submissions adjusted it by.
    sent = [r for r in _sent_rows(submitted[period_text], table) if r.get("adjusts") is None]
    for later_text, later in submitted.items():
        if period_text < later_text < str(period):
            sent.extend(r for r in _sent_rows(later, table) if r.get("adjusts") == period_text)
    reported = _sum_by(sent, key, label, figures)
    current: dict[Any, dict[str, int]] = {}
    for row in current_rows:
        if row.get(key) is None and row.get(label) == "合计":
            continue
        current[row[key]] = {f: int(row[f]) for f in figures}
        names[row[key]] = str(row[label])
    rows: list[dict[str, Any]] = []
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


def register_adjustments(
    table: str,
    period: Period,
    period_text: str,
    submitted: dict[str, dict[str, Any]],
    current_rows: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Rows correcting the cross-province register of the submitted month ``period_text`` in the register
    of ``period``: every case whose row for that month now (``current_rows``) differs from what was sent
    for it (its submission, then the adjustment rows later submissions carried, each replacing the case's
    row): 补报 (added: a case the month's register lacked), 更正 (changed: its row as it now stands) or 撤回
    (withdrawn: no longer in that month's register; the row as it was sent)."""
    earlier = Period.parse(period_text)
    sent = {r["case_id"]: r for r in _sent_rows(submitted[period_text], table) if r.get("adjusts") is None}
    for later_text in sorted(submitted):
        if period_text < later_text < str(period):
            for r in _sent_rows(submitted[later_text], table):
                if r.get("adjusts") != period_text:
                    continue
                if r.get("adjustment") == "withdrawn":
                    sent.pop(r["case_id"], None)
                else:
                    sent[r["case_id"]] = r
    current = {r["case_id"]: r for r in current_rows}
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
    rows: list[dict[str, Any]] = []
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
