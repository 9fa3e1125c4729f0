"""月度报送时限与逾期情况: who must report a month by when, who did, and who is late."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.domain import labels as L
from services.reporting.domain.periods import CST, Period, days_after, deadline, is_overdue
from services.reporting.domain.tables.layout import Column, Table
from services.reporting.domain.tables.places import _reporting_nodes

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
                "level": L.JURISDICTION_LEVELS[level],
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
