"""动态管理台账 / 总量风险清单 / 重点风险线索管理台账: ledger rows, already filtered and ordered, as
tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import labels as L
from services.reporting.domain.handoffs import Regions
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.places import _name

LEDGER_COLUMNS = [
    Column("no", "序号"),
    Column("case_id", "线索编号"),
    Column("jurisdiction_name", "所属辖区"),
    Column("subject_name", "主体名称"),
    Column("credit_code", "统一社会信用代码"),
    Column("sector_name", "行业领域"),
    Column("source_name", "线索来源"),
    Column("reported_at", "发现时间"),
    Column("estimated_amount_yuan", "风险敞口（元）"),
    Column("participants", "涉众规模（人）"),
    Column("grade_name", "风险等级"),
    Column("key_case", "重点案件"),
    Column("department", "责任部门"),
    Column("determination_name", "定性结论"),
    Column("measures_names", "处置措施"),
    Column("transferred_to_police", "移送公安"),
    Column("police_case_number", "公安立案编号"),
    Column("recovered_amount_yuan", "追回金额（元）"),
    Column("status_name", "办理状态"),
    Column("written_off", "是否销号"),
    Column("region_handoff_label", "跨区域移交"),
    Column("peer_region_name", "移交对方区域"),
    Column("peer_jurisdiction_name", "移交对方辖区"),
    Column("region_handoff_at", "移交时间"),
]
LEDGER_TITLES = {
    "ledger": "非法集资风险线索动态管理台账",
    "risks": "非法集资总量风险清单",
    "key_risks": "重点风险线索管理台账",
}


def ledger_table(
    name: str,
    rows: Sequence[Mapping[str, Any]],
    registry: JurisdictionRegistry,
    regions: Regions | None = None,
) -> Table:
    """动态管理台账 / 总量风险清单 / 重点风险线索管理台账 from ledger rows (already filtered and ordered); a
    handoff between regions as ``regions`` (this deployment's; default: one region) reads it."""
    table = Table(name, LEDGER_TITLES[name], LEDGER_COLUMNS)
    here = regions or Regions.single(registry)
    for number, row in enumerate(rows, start=1):
        handoff = here.columns(row)
        peer = handoff["peer_jurisdiction"]
        table.rows.append(
            {
                **{k: _plain(v) for k, v in {**row, **handoff}.items()},
                "no": number,
                "peer_jurisdiction_name": registry.path_name(peer) if peer in registry else peer,
                "jurisdiction_name": _name(registry, str(row["jurisdiction"])),
                "sector_name": L.sector_label(row.get("sector")),
                "source_name": L.label(L.CLUE_SOURCES, row.get("source")),
                "grade_name": L.label(L.GRADES, row.get("grade") or "ungraded"),
                "determination_name": L.label(L.DETERMINATIONS, row.get("determination")),
                "measures_names": L.labels(L.MEASURES, row.get("measures")),
                "status_name": L.label(L.CASE_STATUSES, row.get("status")),
            }
        )
    return table


def _plain(value: Any) -> Any:
    """A JSON-ready cell: timestamps as ISO 8601, ids as text, tuples as lists."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    if value is not None and not isinstance(value, str | int | float | bool | list | dict):
        return str(value)
    return value
