"""The month rows the projector keeps beside the ledger (``CaseMonth``: a case at the end of each month with
a fact of it, and that month's work figures), from which PostgreSQL sums the work and disposal tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from services.reporting.domain.periods import Period
from services.reporting.domain.tables.cases import CaseRecord, snapshot
from services.reporting.domain.tables.work import WORK_FIGURES, period_figures


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
    # The figures the case adds to the disposal table's totals at the month's end (Snapshot.figures_counted).
    amount_yuan: int = 0
    participants: int = 0
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
        figures = period_figures(case, month, end)
        participants, amount = end.figures_counted
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
                clue_at=case.facts[0].occurred_at,
                amount_yuan=amount,
                participants=participants,
                figures={key: figures[key] for key in MONTH_FIGURES},
            )
        )
    return rows
