"""刑事立案案件时限清单 (the 2/3/5-year lists): criminal cases filed two years or more before an instant
and not yet cleared, with the rule each one falls under."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain.tables.cases import CaseRecord, snapshot
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.places import _name, _within

AGEING_RULES = (
    (5, "刑事立案5年以上：须全部出清"),
    (3, "刑事立案3年以上：领导挂牌督办"),
    (2, "超过立案后2年审判终结、完成资金清退时限"),
)

AGEING_COLUMNS = [
    Column("no", "序号"),
    Column("rule", "时限规则"),
    Column("years", "立案年限（年）"),
    Column("filed_at", "刑事立案（移送）时间"),
    Column("subject_name", "主体名称"),
    Column("jurisdiction_name", "所属辖区"),
    Column("amount_yuan", "涉及金额（元）"),
    Column("participants", "涉及人数（人）"),
    Column("progress", "办理进展"),
    Column("case_id", "案件编号"),
]


def whole_years(start: datetime, at: datetime) -> int:
    """Full years from ``start`` to ``at`` (a case filed on 29 February turns a year on 1 March)."""
    years = at.year - start.year
    anniversary = (at.month, at.day, at.time()) < (start.month, start.day, start.time())
    return years - 1 if anniversary else years


def ageing(cases: Iterable[CaseRecord], registry: JurisdictionRegistry, root: str, at: datetime) -> Table:
    """The 2/3/5-year lists: criminal cases filed (立案; else: the police transfer) 2+ years before ``at``
    and not yet cleared (``Snapshot.awaiting_clearance``): a case the office closed as transferred to
    the police stays listed until it is written off, since the trial and the return of funds are what
    the 2/3/5-year rules track."""
    table = Table(
        "ageing", "刑事立案案件时限清单（2年/3年/5年）", AGEING_COLUMNS, meta={"at": at.isoformat()}
    )
    rows = []
    for case in cases:
        state = snapshot(case, at)
        if state is None or not state.awaiting_clearance or state.filed_at is None:
            continue
        if not _within(registry, state.jurisdiction, root):
            continue
        years = whole_years(state.filed_at.astimezone(at.tzinfo), at)
        rule = next((text for limit, text in AGEING_RULES if years >= limit), None)
        if rule is None:
            continue
        clue = case.facts[0].payload
        rows.append(
            {
                "case_id": case.case_id,
                "rule": rule,
                "years": years,
                "filed_at": state.filed_at.isoformat(),
                "subject_name": (clue.get("subject") or {}).get("name", ""),
                "jurisdiction": state.jurisdiction,
                "jurisdiction_name": _name(registry, state.jurisdiction),
                "amount_yuan": state.amount_yuan or 0,
                "participants": state.participants or 0,
                "progress": "在办" if state.open else "已移送公安办结，待审判清退",
            }
        )
    rows.sort(key=lambda r: (-r["years"], r["filed_at"], r["case_id"]))
    table.rows = [{"no": n, **r} for n, r in enumerate(rows, start=1)]
    return table
