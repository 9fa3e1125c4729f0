"""跨省（自治区、直辖市）非法集资案件（风险）办理情况登记统计表: the cases touching another province, as at
the period's end.

A case touches another province through its events: the places its clue names (``regions_involved``), a
notice to another region (escalated ``other_region``), and a handoff (协商办理) — every place that held it,
and the place a handoff waiting for its answer is offered to. Between regions (``contracts.regions``: each
region serves whole provinces) a handoff always crosses provinces, so a case handed from one region to
another is in the register of the place that handles it, in each region alike: both logs hold its whole
chain. A case is registered where it stands at the period's end (主办地), so the office that handed it out
no longer lists it from then on; its ledger shows it handed out.
"""

from __future__ import annotations

from collections.abc import Iterable

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import labels as L
from services.reporting.domain.handoffs import Handoff
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.tables.cases import CaseRecord, Snapshot, snapshot
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.places import _name, _within

CROSS_PROVINCE_COLUMNS = [
    Column("no", "序号"),
    Column("subject_name", "案件（风险）名称"),
    Column("credit_code", "统一社会信用代码"),
    Column("jurisdiction_name", "主办地"),
    Column("provinces", "涉及省（自治区、直辖市）"),
    Column("sector_name", "行业领域"),
    Column("reported_at", "发现时间"),
    Column("amount_yuan", "涉及金额（元）"),
    Column("participants", "涉及人数（人）"),
    Column("grade_name", "风险等级"),
    Column("police", "移送/立案情况"),
    Column("progress", "办理进展"),
    Column("recovered_yuan", "追赃挽损金额（元）"),
    Column("case_id", "案件编号"),
    # Only a row whose case was handed between provinces has it (like ``adjusts`` on adjustment rows).
    Column("handoff", "跨省移交情况"),
]


def province_of(registry: JurisdictionRegistry, code: str) -> str:
    """The province code of a jurisdiction (its first two digits when it is not in this registry)."""
    if code in registry:
        node = registry.nearest(code, "province")
        if node is not None:
            return node.code
    return code[:2] + "0000"


def province_name(registry: JurisdictionRegistry, code: str) -> str:
    return registry.get(code).name if code in registry else code


def places_involved(case: Snapshot) -> list[str]:
    """Every place the case's events tie it to besides where it stands: the places its clue names, the
    regions notified, every place that held it, and the place a pending handoff is offered to."""
    held = [place for taken in case.handoffs for place in (taken.from_jurisdiction, taken.to_jurisdiction)]
    offered = [case.offered.to_jurisdiction] if case.offered is not None else []
    return [*case.regions, *held, *offered]


def handoff_across_provinces(registry: JurisdictionRegistry, case: Snapshot) -> str | None:
    """The case's handoff between provinces in words: the one waiting for its answer, else the last one
    accepted (None: no handoff of the case crossed a province's border)."""

    def crosses(handoff: Handoff) -> bool:
        return province_of(registry, handoff.from_jurisdiction) != province_of(
            registry, handoff.to_jurisdiction
        )

    def day(handoff: Handoff) -> str:
        return f"{handoff.at.astimezone(CST):%Y-%m-%d}"

    if case.offered is not None and crosses(case.offered):
        return f"{day(case.offered)}提请移交{_path(registry, case.offered.to_jurisdiction)}，待接收"
    accepted = [taken for taken in case.handoffs if crosses(taken)]
    if not accepted:
        return None
    last = accepted[-1]
    return (
        f"{day(last)}由{_path(registry, last.from_jurisdiction)}移交{_path(registry, last.to_jurisdiction)}"
    )


def _path(registry: JurisdictionRegistry, code: str) -> str:
    return registry.path_name(code) if code in registry else code


def cross_province_register(
    cases: Iterable[CaseRecord], registry: JurisdictionRegistry, root: str, period: Period
) -> Table:
    """跨省非法集资案件（风险）办理情况登记统计表: cases touching another province, as at the period's end."""
    table = Table(
        "cross_province",
        "跨省（自治区、直辖市）非法集资案件（风险）办理情况登记统计表",
        CROSS_PROVINCE_COLUMNS,
        meta={"period": str(period)},
    )
    rows = []
    for case in cases:
        end = snapshot(case, period.end)
        if end is None or not _within(registry, end.jurisdiction, root):
            continue
        home = province_of(registry, end.jurisdiction)
        others = sorted({province_of(registry, place) for place in places_involved(end)} - {home})
        if not others:
            continue
        clue = case.facts[0].payload
        police = "已立案" if end.accepted else "已移送" if end.transferred else "未移送"
        row = {
            "case_id": case.case_id,
            "subject_name": (clue.get("subject") or {}).get("name", ""),
            "credit_code": (clue.get("subject") or {}).get("credit_code") or "",
            "jurisdiction": end.jurisdiction,
            "jurisdiction_name": _name(registry, end.jurisdiction),
            "provinces": "、".join(province_name(registry, p) for p in others),
            "sector_name": L.sector_label(end.sector),
            "reported_at": case.facts[0].occurred_at.isoformat(),
            "amount_yuan": end.amount_yuan or 0,
            "participants": end.participants or 0,
            "grade_name": L.label(L.GRADES, end.grade or "ungraded"),
            "police": police,
            "progress": "已办结" if end.closed else "在办",
            "recovered_yuan": end.recovered_yuan,
        }
        handoff = handoff_across_provinces(registry, end)
        if handoff is not None:
            row["handoff"] = handoff
        rows.append(row)
    rows.sort(key=lambda r: (r["reported_at"], r["case_id"]))
    table.rows = [{"no": n, **r} for n, r in enumerate(rows, start=1)]
    return table
