"""The tables offices keep and send (台账 and 统计表), computed from the projection's cases, no I/O.

Every table is a function of the cases visible to the reader: each case's ledger row (its current state)
and its facts (the events of its history, in seq order). Period figures count the facts that occurred in
the month (China Standard Time); "as at the end of the period" figures replay a case's facts up to the end
of the month, so a table for a past month stays what it was however the case moved on since.
Where each column comes from is written down in docs/reporting.md.

A module per table: ``work`` (工作情况统计表), ``disposal`` (风险线索排查处置情况统计表),
``cross_province`` (跨省登记统计表), ``ledgers`` (台账 and 清单 from ledger rows), ``ageing_list`` (the
2/3/5-year lists), ``no_fundraising`` (无非法集资社区（村）) and ``submission_deadlines`` (报送时限与逾期).
Beneath them: ``cases`` (a case's facts and its replay to an instant), ``months`` (the month rows the
projector keeps, which the database sums into the work and disposal tables), ``layout`` (a table's columns
and rows) and ``places`` (the jurisdictions a table reports on).
"""

from services.reporting.domain.tables.ageing_list import AGEING_COLUMNS, AGEING_RULES, ageing, whole_years
from services.reporting.domain.tables.cases import CLOSING_TYPES, CaseRecord, Fact, Snapshot, snapshot
from services.reporting.domain.tables.cross_province import (
    CROSS_PROVINCE_COLUMNS,
    cross_province_register,
    province_name,
    province_of,
)
from services.reporting.domain.tables.disposal import (
    DETERMINATION_KEYS,
    DISPOSAL_COLUMNS,
    DISPOSAL_FIGURES,
    GRADE_KEYS,
    disposal_figures,
    disposal_statistics,
    disposal_table,
)
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.ledgers import LEDGER_COLUMNS, LEDGER_TITLES, ledger_table
from services.reporting.domain.tables.months import MONTH_FIGURES, CaseMonth, case_months
from services.reporting.domain.tables.no_fundraising import (
    CASE_DETERMINATIONS,
    NO_FUNDRAISING_COLUMNS,
    became_case_at,
    no_fundraising_communities,
)
from services.reporting.domain.tables.places import REPORTING_LEVELS
from services.reporting.domain.tables.submission_deadlines import DEADLINE_COLUMNS, deadlines
from services.reporting.domain.tables.work import (
    MONITORING_SOURCES,
    PUBLIC_REPORT_SOURCES,
    WORK_COLUMNS,
    WORK_FIGURES,
    period_figures,
    work_statistics,
    work_table,
)

__all__ = [
    "AGEING_COLUMNS",
    "AGEING_RULES",
    "CASE_DETERMINATIONS",
    "CLOSING_TYPES",
    "CROSS_PROVINCE_COLUMNS",
    "DEADLINE_COLUMNS",
    "DETERMINATION_KEYS",
    "DISPOSAL_COLUMNS",
    "DISPOSAL_FIGURES",
    "GRADE_KEYS",
    "LEDGER_COLUMNS",
    "LEDGER_TITLES",
    "MONITORING_SOURCES",
    "MONTH_FIGURES",
    "NO_FUNDRAISING_COLUMNS",
    "PUBLIC_REPORT_SOURCES",
    "REPORTING_LEVELS",
    "WORK_COLUMNS",
    "WORK_FIGURES",
    "CaseMonth",
    "CaseRecord",
    "Column",
    "Fact",
    "Snapshot",
    "Table",
    "ageing",
    "became_case_at",
    "case_months",
    "cross_province_register",
    "deadlines",
    "disposal_figures",
    "disposal_statistics",
    "disposal_table",
    "ledger_table",
    "no_fundraising_communities",
    "period_figures",
    "province_name",
    "province_of",
    "snapshot",
    "whole_years",
    "work_statistics",
    "work_table",
]
