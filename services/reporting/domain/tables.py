"""The tables offices keep and send (台账 and 统计表), computed from the projection's cases, no I/O.

Every table is a function of the cases visible to the reader: each case's ledger row (its current state)
and its facts (the events of its history, in seq order). Period figures count the facts that occurred in
the month (China Standard Time); "as at the end of the period" figures replay a case's facts up to the end
of the month, so a table for a past month stays what it was however the case moved on since.
Where each column comes from is written down in docs/reporting.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import labels as L
from services.reporting.domain.periods import CST, Period, days_after, deadline, is_overdue

CLOSING_TYPES = frozenset({"closed", "written-off"})
REPORTING_LEVELS = ("province", "city", "district", "street", "community")
PUBLIC_REPORT_SOURCES = frozenset({"hotline_12345", "police_110", "public_app", "petition"})
MONITORING_SOURCES = frozenset({"big_data", "fund_monitoring", "online_monitoring", "media"})
CASE_DETERMINATIONS = frozenset({"suspected_illegal_fundraising", "suspected_crime"})
AGEING_RULES = (
    (5, "刑事立案5年以上：须全部出清"),
    (3, "刑事立案3年以上：领导挂牌督办"),
    (2, "超过立案后2年审判终结、完成资金清退时限"),
)


@dataclass(frozen=True)
class Fact:
    """One event of a case's history as the tables read it."""

    type: str
    occurred_at: datetime
    jurisdiction: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class CaseRecord:
    """A case: its ledger row (current state) and its facts in seq order."""

    row: Mapping[str, Any]
    facts: tuple[Fact, ...]

    @property
    def case_id(self) -> str:
        return str(self.row["case_id"])


@dataclass(frozen=True)
class Column:
    key: str
    header: str


@dataclass
class Table:
    """A table with its Chinese title and column headers, ready for JSON, XLSX or CSV."""

    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "columns": [{"key": c.key, "header": c.header} for c in self.columns],
            "rows": self.rows,
            "meta": self.meta,
        }


@dataclass
class Snapshot:
    """A case as it stood just before an instant, replayed from its facts."""

    jurisdiction: str
    sector: str | None = None
    open: bool = True
    grade: str | None = None
    determination: str | None = None
    transferred: bool = False
    accepted: bool = False
    written_off: bool = False
    closed: bool = False
    outcome: str | None = None
    recovered_yuan: int = 0
    regions: list[str] = field(default_factory=list)
    filed_at: datetime | None = None

    @property
    def awaiting_clearance(self) -> bool:
        """A filed criminal case (刑事立案) not yet cleared: open, or closed by the office as transferred to
        the police (the trial and the return of funds go on). Written off (risk cleared with a recorded
        outcome), merged, closed with another outcome, or returned by the police: cleared."""
        if self.filed_at is None or self.written_off:
            return False
        return self.open or (self.closed and self.outcome == "transferred_to_police")


def snapshot(case: CaseRecord, before: datetime) -> Snapshot | None:
    """The case as it stood just before ``before``; None when it had not been reported yet."""
    facts = [f for f in case.facts if f.occurred_at < before]
    if not facts or facts[0].type != "clue-reported":
        return None
    state = Snapshot(jurisdiction=facts[0].jurisdiction, sector=facts[0].payload.get("sector"))
    state.regions = list(facts[0].payload.get("regions_involved") or [])
    for fact in facts:
        state.jurisdiction = fact.jurisdiction
        p = fact.payload
        kind = fact.type
        if kind == "assessed":
            state.grade = p.get("grade")
            state.sector = p.get("sector") or state.sector
        elif kind == "determined":
            state.determination = p.get("determination")
        elif kind == "escalated" and p.get("target") == "police":
            state.transferred = True
            state.filed_at = state.filed_at or fact.occurred_at
        elif kind == "escalated" and p.get("target") == "other_region":
            state.regions.append(str(p.get("target_jurisdiction")))
        elif kind == "police-accepted":
            state.transferred = state.accepted = True
            # The criminal case is filed (刑事立案) when the police accept it; the ageing rules count from it.
            state.filed_at = (
                datetime.fromisoformat(str(p.get("accepted_at")))
                if p.get("accepted_at")
                else (fact.occurred_at)
            )
        elif kind == "police-returned":
            state.transferred = state.accepted = False
            state.filed_at = None
        elif kind == "key-case-flagged" and p.get("criminal_filed_on") and not state.accepted:
            filed = date.fromisoformat(str(p["criminal_filed_on"]))
            state.filed_at = datetime.combine(filed, time(0), tzinfo=CST)
        elif kind in CLOSING_TYPES or kind == "merged":
            state.open, state.closed = False, kind != "merged"
            state.written_off = state.written_off or kind == "written-off"
            state.outcome = "merged" if kind == "merged" else p.get("outcome")
            if p.get("recovered_amount_yuan") is not None:
                state.recovered_yuan = int(p["recovered_amount_yuan"])
        elif kind == "reopened":
            state.open, state.closed, state.written_off, state.outcome = True, False, False, None
        elif kind == "handoff-accepted":
            state.jurisdiction = str(p.get("to_jurisdiction") or fact.jurisdiction)
        elif kind in ("handoff-requested", "handoff-returned"):
            state.jurisdiction = str(p.get("from_jurisdiction") or fact.jurisdiction)
    return state


def _in(period: Period, fact: Fact) -> bool:
    return period.contains(fact.occurred_at)


def period_figures(case: CaseRecord, period: Period, end: Snapshot | None = None) -> dict[str, int]:
    """What happened to one case in ``period`` (the additive columns of the work statistics); ``end`` is
    the case at the end of the period when the caller has it already."""
    out: dict[str, int] = dict.fromkeys(WORK_FIGURES, 0)
    for fact in case.facts:
        if not _in(period, fact):
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


def _reporting_nodes(registry: JurisdictionRegistry, root: str) -> list[tuple[str, str, str]]:
    """(code, name, level) of ``root`` and its descendants down to communities, depth first."""
    out: list[tuple[str, str, str]] = []

    def visit(code: str) -> None:
        node = registry.get(code)
        if node.level not in REPORTING_LEVELS:
            return
        out.append((node.code, node.name, node.level))
        for child in sorted(registry.children(code), key=lambda n: n.code):
            visit(child.code)

    visit(root)
    return out


def _within(registry: JurisdictionRegistry, code: str, ancestor: str) -> bool:
    return code in registry and registry.is_within(code, ancestor)


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
        label = L.LEVELS.get(level, level)
        table.rows.append(
            {"no": number, "jurisdiction": code, "jurisdiction_name": name, "level": label, **sums[code]}
        )
    return table


class _Lineage:
    """A jurisdiction and its ancestors' codes, looked up once per code (unknown codes: none)."""

    def __init__(self, registry: JurisdictionRegistry) -> None:
        self._registry = registry
        self._cache: dict[str, tuple[str, ...]] = {}

    def of(self, code: str) -> tuple[str, ...]:
        found = self._cache.get(code)
        if found is None:
            if code in self._registry:
                found = (code, *(a.code for a in self._registry.ancestors(code)))
            else:
                found = ()
            self._cache[code] = found
        return found


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
    clue = case.facts[0].payload
    f = dict.fromkeys(DISPOSAL_FIGURES, 0)
    f["total"] = 1
    f["new"] = int(period.contains(case.facts[0].occurred_at))
    f[f"grade_{end.grade or 'ungraded'}"] += 1
    f[f"det_{end.determination}" if end.determination else "det_none"] += 1
    f["to_police"] = int(end.transferred)
    f["police_accepted"] = int(end.accepted)
    f["closed"] = int(end.closed)
    f["open"] = int(end.open)
    f["amount_yuan"] = int(clue.get("estimated_amount_yuan") or 0)
    f["participants"] = int(clue.get("participants") or 0)
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
        name = "未注明" if sector == "unspecified" else L.label(L.SECTORS, sector)
        table.rows.append({"no": number, "sector": sector, "sector_name": name, **by_sector[sector]})
    total = {key: sum(row[key] for row in table.rows) for key in DISPOSAL_FIGURES}
    table.rows.append({"no": "", "sector": None, "sector_name": "合计", **total})
    return table


@dataclass(frozen=True)
class CaseMonth:
    """A case at the end of a month in which one of its facts occurred, and that month's work figures.

    The projector keeps one per (case, month with facts) beside the ledger, so the work and disposal
    tables of any month are sums over each case's latest row up to that month, which PostgreSQL can
    group: a case stands at the end of month P as it stood at the end of its last month with facts up
    to P (no fact of it occurred in between). ``present`` is false while the facts before the month's end
    do not begin with the clue (the tables leave such a case out)."""

    period: str
    present: bool
    jurisdiction: str | None = None
    sector: str | None = None
    grade: str | None = None
    determination: str | None = None
    open: bool = False
    closed: bool = False
    transferred: bool = False
    accepted: bool = False
    recovered_yuan: int = 0
    clue_at: datetime | None = None
    clue_amount_yuan: int = 0
    clue_participants: int = 0
    figures: Mapping[str, int] = field(default_factory=dict)


# The work figures a month row keeps (the open count comes from its state instead).
MONTH_FIGURES = [key for key in WORK_FIGURES if key != "open_at_end"]


def case_months(case: CaseRecord, since: Period | None = None) -> list[CaseMonth]:
    """The rows of ``case`` for every month with a fact, from ``since`` on (an event that occurred in
    month M changes the rows of M and later months only)."""
    months = sorted({Period.of(fact.occurred_at) for fact in case.facts})
    rows = []
    for month in months:
        if since is not None and month < since:
            continue
        end = snapshot(case, month.end)
        if end is None:
            rows.append(CaseMonth(str(month), present=False))
            continue
        clue = case.facts[0]
        figures = period_figures(case, month, end)
        rows.append(
            CaseMonth(
                str(month),
                present=True,
                jurisdiction=end.jurisdiction,
                sector=end.sector or None,
                grade=end.grade,
                determination=end.determination,
                open=end.open,
                closed=end.closed,
                transferred=end.transferred,
                accepted=end.accepted,
                recovered_yuan=end.recovered_yuan,
                clue_at=clue.occurred_at,
                clue_amount_yuan=int(clue.payload.get("estimated_amount_yuan") or 0),
                clue_participants=int(clue.payload.get("participants") or 0),
                figures={key: figures[key] for key in MONTH_FIGURES},
            )
        )
    return rows


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
                "sector_name": L.label(L.SECTORS, end.sector),
                "reported_at": case.facts[0].occurred_at.isoformat(),
                "amount_yuan": int(clue.get("estimated_amount_yuan") or 0),
                "participants": int(clue.get("participants") or 0),
                "grade_name": L.label(L.GRADES, end.grade or "ungraded"),
                "police": police,
                "progress": "已办结" if end.closed else "在办",
                "recovered_yuan": end.recovered_yuan,
            }
        )
    rows.sort(key=lambda r: (r["reported_at"], r["case_id"]))
    table.rows = [{"no": n, **r} for n, r in enumerate(rows, start=1)]
    return table


def _name(registry: JurisdictionRegistry, code: str) -> str:
    return registry.get(code).name if code in registry else code


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
]
LEDGER_TITLES = {
    "ledger": "非法集资风险线索动态管理台账",
    "risks": "非法集资总量风险清单",
    "key_risks": "重点风险线索管理台账",
}


def ledger_table(name: str, rows: Sequence[Mapping[str, Any]], registry: JurisdictionRegistry) -> Table:
    """动态管理台账 / 总量风险清单 / 重点风险线索管理台账 from ledger rows (already filtered and ordered)."""
    table = Table(name, LEDGER_TITLES[name], LEDGER_COLUMNS)
    for number, row in enumerate(rows, start=1):
        table.rows.append(
            {
                **{k: _plain(v) for k, v in row.items()},
                "no": number,
                "jurisdiction_name": _name(registry, str(row["jurisdiction"])),
                "sector_name": L.label(L.SECTORS, row.get("sector")),
                "source_name": L.label(L.SOURCES, row.get("source")),
                "grade_name": L.label(L.GRADES, row.get("grade") or "ungraded"),
                "determination_name": L.label(L.DETERMINATIONS, row.get("determination")),
                "measures_names": L.labels(L.MEASURES, row.get("measures")),
                "status_name": L.label(L.STATUSES, row.get("status")),
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
                "amount_yuan": int(clue.get("estimated_amount_yuan") or 0),
                "participants": int(clue.get("participants") or 0),
                "progress": "在办" if state.open else "已移送公安办结，待审判清退",
            }
        )
    rows.sort(key=lambda r: (-r["years"], r["filed_at"], r["case_id"]))
    table.rows = [{"no": n, **r} for n, r in enumerate(rows, start=1)]
    return table


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
        people = int(first.payload.get("participants") or 0) if is_case else 0
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


DEADLINE_COLUMNS = [
    Column("no", "序号"),
    Column("jurisdiction_name", "报送单位"),
    Column("level", "层级"),
    Column("period", "统计期"),
    Column("due", "报送截止日"),
    Column("submitted_at", "报送时间"),
    Column("state", "状态"),
    Column("days_late", "逾期天数"),
]


def deadlines(
    registry: JurisdictionRegistry,
    root: str,
    period: Period,
    submitted: Mapping[str, datetime],
    now: datetime,
) -> Table:
    """Who must report ``period`` by when (communities by the 20th, streets by the 5th of the next month),
    who did (``submitted`` maps a jurisdiction to its submission time) and who is late: 已报送 (on time),
    逾期报送 (submitted after the due day, with the days late), 待报送, 逾期未报 (with the days late so far).
    A day late is a calendar day after the due day in the calendar's time zone: submitted on the 6th for
    the 5th is one day late."""
    table = Table("deadlines", "月度报送时限与逾期情况", DEADLINE_COLUMNS, meta={"period": str(period)})
    number = 0
    for code, name, level in _reporting_nodes(registry, root):
        due = deadline(period, level, code)
        if due is None:
            continue
        at = submitted.get(code)
        if at is not None:
            days_late = days_after(due, at)
            state = "逾期报送" if days_late > 0 else "已报送"
        else:
            days_late = days_after(due, now)
            state = "逾期未报" if days_late > 0 else "待报送"
        number += 1
        table.rows.append(
            {
                "no": number,
                "jurisdiction": code,
                "jurisdiction_name": name,
                "level": L.LEVELS[level],
                "period": str(period),
                "due": due.isoformat(),
                "submitted_at": at.astimezone(CST).isoformat() if at is not None else None,
                "state": state,
                "days_late": max(days_late, 0),
                # Still owed and past its due day (what reminders and the dashboard count).
                "overdue": at is None and is_overdue(due, False, now),
            }
        )
    return table
