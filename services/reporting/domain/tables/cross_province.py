"""跨省（自治区、直辖市）非法集资案件（风险）办理情况登记统计表: the cases touching another province, as at
the period's end."""

from __future__ import annotations

from collections.abc import Iterable

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import labels as L
from services.reporting.domain.periods import Period
from services.reporting.domain.tables.cases import CaseRecord, snapshot
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
        others = sorted({province_of(registry, r) for r in end.regions} - {home})
        if not others:
            continue
        clue = case.facts[0].payload
        police = "已立案" if end.accepted else "已移送" if end.transferred else "未移送"
        rows.append(
            {
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
        )
    rows.sort(key=lambda r: (r["reported_at"], r["case_id"]))
    table.rows = [{"no": n, **r} for n, r in enumerate(rows, start=1)]
    return table
