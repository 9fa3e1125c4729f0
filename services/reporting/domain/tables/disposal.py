"""风险线索排查处置情况统计表: per sector, every case reported by the period's end, as it then stood."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import labels as L
from services.reporting.domain.periods import Period
from services.reporting.domain.tables.cases import CaseRecord, Snapshot, snapshot
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.places import _within

DETERMINATION_KEYS = list(L.DETERMINATIONS)
GRADE_KEYS = ["major", "serious", "general", "low", "ungraded"]
DISPOSAL_COLUMNS = [
    Column("no", "序号"),
    Column("sector_name", "行业领域"),
    Column("total", "累计排查风险线索（条）"),
    Column("new", "本期新增（条）"),
    *[Column(f"grade_{g}", f"风险等级：{L.GRADES[g]}") for g in GRADE_KEYS],
    *[Column(f"det_{d}", f"定性：{L.DETERMINATIONS[d]}") for d in DETERMINATION_KEYS],
    Column("det_none", "尚未研判定性"),
    Column("to_police", "移送公安（件）"),
    Column("police_accepted", "公安立案（件）"),
    Column("closed", "已办结销号（件）"),
    Column("open", "在办（件）"),
    Column("amount_yuan", "涉及金额（元）"),
    Column("participants", "涉及人数（人）"),
    Column("recovered_yuan", "追赃挽损金额（元）"),
]
DISPOSAL_FIGURES = [c.key for c in DISPOSAL_COLUMNS[2:]]


def disposal_statistics(
    cases: Iterable[CaseRecord], registry: JurisdictionRegistry, root: str, period: Period
) -> Table:
    """风险线索排查处置情况统计表: per sector, each case reported by the period's end, as it then stood."""

    def placed() -> Iterator[tuple[str, str, Mapping[str, int]]]:
        for case in cases:
            end = snapshot(case, period.end)
            if end is not None:
                yield end.jurisdiction, end.sector or "unspecified", disposal_figures(case, period, end)

    return disposal_table(placed(), registry, root, period)


def disposal_figures(case: CaseRecord, period: Period, end: Snapshot) -> dict[str, int]:
    """One case's contribution to the disposal table of ``period`` (``end``: the case at its end)."""
    f = dict.fromkeys(DISPOSAL_FIGURES, 0)
    f["total"] = 1
    f["new"] = int(period.contains(case.facts[0].occurred_at))
    f[f"grade_{end.grade or 'ungraded'}"] += 1
    f[f"det_{end.determination}" if end.determination else "det_none"] += 1
    f["to_police"] = int(end.transferred)
    f["police_accepted"] = int(end.accepted)
    f["closed"] = int(end.closed)
    f["open"] = int(end.open)
    f["participants"], f["amount_yuan"] = end.figures_counted
    f["recovered_yuan"] = end.recovered_yuan
    return f


def disposal_table(
    placed: Iterable[tuple[str, str, Mapping[str, int]]],
    registry: JurisdictionRegistry,
    root: str,
    period: Period,
) -> Table:
    """The disposal table from figures already placed (jurisdiction and sector at the end of the period,
    figures): one per case, or one per group of cases when the database summed them."""
    by_sector: dict[str, dict[str, int]] = {}
    for jurisdiction, sector, figures in placed:
        if not _within(registry, jurisdiction, root):
            continue
        f = by_sector.setdefault(sector, dict.fromkeys(DISPOSAL_FIGURES, 0))
        for key, value in figures.items():
            f[key] += value
    table = Table("disposal", "风险线索排查处置情况统计表", DISPOSAL_COLUMNS, meta={"period": str(period)})
    for number, sector in enumerate(sorted(by_sector), start=1):
        name = "未注明" if sector == "unspecified" else L.sector_label(sector)
        table.rows.append({"no": number, "sector": sector, "sector_name": name, **by_sector[sector]})
    total = {key: sum(row[key] for row in table.rows) for key in DISPOSAL_FIGURES}
    table.rows.append({"no": "", "sector": None, "sector_name": "合计", **total})
    return table
