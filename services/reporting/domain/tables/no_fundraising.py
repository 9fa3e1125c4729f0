"""无非法集资社区（村）: per township and community, the clues reported and the new cases (新发案件) of the
period; a community qualifies with no new case."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain.periods import Period
from services.reporting.domain.tables.cases import CaseRecord, snapshot
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.places import _Lineage, _name, _reporting_nodes

CASE_DETERMINATIONS = frozenset({"suspected_illegal_fundraising", "suspected_crime"})

NO_FUNDRAISING_COLUMNS = [
    Column("no", "序号"),
    Column("township_name", "乡镇（街道）"),
    Column("community_name", "社区（村）"),
    Column("new_clues", "本期新增风险线索（条）"),
    Column("new_cases", "本期新发非法集资案件（件）"),
    Column("participants", "新发案件涉及人数（人）"),
    Column("qualifies", "无非法集资社区（村）"),
]


def became_case_at(case: CaseRecord) -> datetime | None:
    """When the clue first became a case of illegal fundraising (新发案件): the earliest determination of
    it as suspected illegal fundraising or suspected crime; None while it has none."""
    found = [
        f.occurred_at
        for f in case.facts
        if f.type == "determined" and f.payload.get("determination") in CASE_DETERMINATIONS
    ]
    return min(found, default=None)


def no_fundraising_communities(
    cases: Iterable[CaseRecord], registry: JurisdictionRegistry, root: str, period: Period
) -> Table:
    """无非法集资社区（村）: per township and community, the clues reported in the period, the new cases of
    the period and their participants; a community qualifies with no new case. Each township closes with
    its total row.

    A new case (新发案件, seed 002) counts once, in the month it was first determined suspected illegal
    fundraising or suspected crime (``became_case_at``), wherever its clue was reported: a clue of 28
    October determined on 3 November is a new case of November. A past month's figures do not move when
    a case is determined later, and no case is counted twice."""
    figures: list[tuple[str, int, int, int]] = []  # (place, clues, cases, participants)
    for case in cases:
        first = case.facts[0] if case.facts else None
        if first is None or first.type != "clue-reported":
            continue
        reported = period.contains(first.occurred_at)
        became = became_case_at(case)
        is_case = became is not None and period.contains(became)
        if not reported and not is_case:
            continue
        end = snapshot(case, period.end)
        if end is None:
            continue
        people = end.figures_counted[0] if is_case else 0
        figures.append((end.jurisdiction, int(reported), int(is_case), people))
    lineage = _Lineage(registry)
    table = Table(
        "no_fundraising",
        "无非法集资社区（村）创建情况统计表",
        NO_FUNDRAISING_COLUMNS,
        meta={"period": str(period)},
    )
    townships = [code for code, _, level in _reporting_nodes(registry, root) if level == "street"]
    if root in registry and registry.get(root).level == "community":
        parent = registry.get(root).parent
        townships = [parent] if parent else []
    number = 0
    for township in townships:
        communities = [
            c for c in sorted(registry.children(township), key=lambda n: n.code) if c.level == "community"
        ]
        if root in registry and registry.get(root).level == "community":
            communities = [c for c in communities if c.code == root]
        totals = [0, 0, 0]
        qualifying = 0
        for community in communities:
            mine = [f for f in figures if community.code in lineage.of(f[0])]
            counts = [sum(f[1] for f in mine), sum(f[2] for f in mine), sum(f[3] for f in mine)]
            totals = [a + b for a, b in zip(totals, counts, strict=True)]
            qualifying += counts[1] == 0
            number += 1
            table.rows.append(
                {
                    "no": number,
                    "township": township,
                    "township_name": _name(registry, township),
                    "community": community.code,
                    "community_name": community.name,
                    "new_clues": counts[0],
                    "new_cases": counts[1],
                    "participants": counts[2],
                    "qualifies": "是" if counts[1] == 0 else "否",
                }
            )
        table.rows.append(
            {
                "no": "",
                "township": township,
                "township_name": _name(registry, township),
                "community": None,
                "community_name": "小计",
                "new_clues": totals[0],
                "new_cases": totals[1],
                "participants": totals[2],
                "qualifies": f"{qualifying}/{len(communities)}",
            }
        )
    return table
