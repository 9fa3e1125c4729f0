"""工作情况统计表: what happened to each case in the month (``period_figures``), rolled up over every node of
the subtree down to communities."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import labels as L
from services.reporting.domain.periods import Period
from services.reporting.domain.tables.cases import CLOSING_TYPES, CaseRecord, Snapshot, snapshot
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.places import _Lineage, _reporting_nodes

PUBLIC_REPORT_SOURCES = frozenset({"hotline_12345", "police_110", "public_app", "petition"})
MONITORING_SOURCES = frozenset({"big_data", "fund_monitoring", "online_monitoring", "media"})

WORK_COLUMNS = [
    Column("no", "序号"),
    Column("jurisdiction_name", "单位"),
    Column("level", "层级"),
    Column("new_clues", "本期排查发现风险线索（条）"),
    Column("from_grid", "其中：网格排查（条）"),
    Column("from_public", "其中：群众举报（条）"),
    Column("from_monitoring", "其中：监测预警（条）"),
    Column("from_referral", "其中：部门移交/外地转来（条）"),
    Column("participants", "涉及集资参与人（人）"),
    Column("amount_yuan", "涉及金额（元）"),
    Column("determined", "研判定性（件）"),
    Column("measures", "采取处置措施（次）"),
    Column("to_police", "移送公安（件）"),
    Column("police_accepted", "公安立案（件）"),
    Column("closed", "办结销号（件）"),
    Column("recovered_yuan", "追赃挽损金额（元）"),
    Column("rewards_yuan", "举报奖励金额（元）"),
    Column("open_at_end", "期末在办风险（件）"),
]
WORK_FIGURES = [c.key for c in WORK_COLUMNS[3:]]


def work_statistics(
    cases: Iterable[CaseRecord], registry: JurisdictionRegistry, root: str, period: Period
) -> Table:
    """工作情况统计表: a row per node of the subtree down to communities, rolled up over its subtree."""

    def placed() -> Iterator[tuple[str, Mapping[str, int]]]:
        for case in cases:
            end = snapshot(case, period.end)
            if end is not None:
                yield end.jurisdiction, period_figures(case, period, end)

    return work_table(placed(), registry, root, period)


def period_figures(case: CaseRecord, period: Period, end: Snapshot | None = None) -> dict[str, int]:
    """What happened to one case in ``period`` (the additive columns of the work statistics); ``end`` is
    the case at the end of the period when the caller has it already."""
    out: dict[str, int] = dict.fromkeys(WORK_FIGURES, 0)
    start, end_of_period = period.start, period.end  # computed once: this runs for every case and month
    for fact in case.facts:
        if not start <= fact.occurred_at < end_of_period:
            continue
        p = fact.payload
        if fact.type == "clue-reported":
            source = p.get("source")
            out["new_clues"] += 1
            out["from_grid"] += source == "grid_patrol"
            out["from_public"] += source in PUBLIC_REPORT_SOURCES
            out["from_monitoring"] += source in MONITORING_SOURCES
            out["from_referral"] += source == "referral"
            out["participants"] += int(p.get("participants") or 0)
            out["amount_yuan"] += int(p.get("estimated_amount_yuan") or 0)
        elif fact.type == "determined":
            out["determined"] += 1
            out["measures"] += len(p.get("measures") or [])
        elif fact.type == "measure-recorded":
            out["measures"] += 1
        elif fact.type == "escalated" and p.get("target") == "police":
            out["to_police"] += 1
        elif fact.type == "police-accepted":
            out["police_accepted"] += 1
        elif fact.type in CLOSING_TYPES:
            out["closed"] += 1
            out["recovered_yuan"] += int(p.get("recovered_amount_yuan") or 0)
        elif fact.type == "reward-granted":
            out["rewards_yuan"] += int(p.get("amount_yuan") or 0)
    end = end or snapshot(case, period.end)
    out["open_at_end"] = int(end is not None and end.open)
    return out


def work_table(
    placed: Iterable[tuple[str, Mapping[str, int]]], registry: JurisdictionRegistry, root: str, period: Period
) -> Table:
    """The work statistics from figures already placed (jurisdiction at the end of the period, figures):
    one per case, or one per jurisdiction when the database summed them (the sums are the same)."""
    nodes = _reporting_nodes(registry, root)
    sums = {code: dict.fromkeys(WORK_FIGURES, 0) for code, _, _ in nodes}
    lineage = _Lineage(registry)
    for jurisdiction, figures in placed:
        # Each place adds to its own node and every ancestor: the roll-up in one pass.
        for code in lineage.of(jurisdiction):
            if code in sums:
                target = sums[code]
                for key in WORK_FIGURES:
                    target[key] += figures[key]
    table = Table("work", "打击非法集资专项行动工作情况统计表", WORK_COLUMNS, meta={"period": str(period)})
    for number, (code, name, level) in enumerate(nodes, start=1):
        label = L.JURISDICTION_LEVELS.get(level, level)
        table.rows.append(
            {"no": number, "jurisdiction": code, "jurisdiction_name": name, "level": label, **sums[code]}
        )
    return table
