"""Monthly reporting periods (统计期) in China Standard Time and their reporting deadlines.

The due days come from the shared reporting calendar (``contracts/reporting_calendar.py``), the same one
notify reminds offices by: by default communities report a month's progress by the 20th of that month
(seed 000: 各社区每月20日前报送) and streets send the ledger and disposal tables of a month by the 5th of the
following month (seed 001: 每月5日前); a jurisdiction may set its own days for its subtree. The service
validates the deployment's calendar at start-up and installs it with ``use_calendar``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cached_property, lru_cache

from contracts.reporting_calendar import ReportingCalendar, default_calendar

CST = timezone(timedelta(hours=8), "CST")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Months a case can be reported in; the bounds also keep every instant derived from a period (its
# deadlines, ageing years back, the month after) within what datetime can represent.
FIRST_YEAR, LAST_YEAR = 1900, 2999
# The calendar of this process: set once at start-up (``use_calendar``), the bundled one until then.
_calendar: ReportingCalendar | None = None


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month, e.g. ``2026-10``; it starts and ends at midnight China Standard Time."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text)
        if match is None:
            raise ValueError(f"period {text!r} is not YYYY-MM")
        year = int(match.group(1))
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(f"period {text!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}")
        return cls(year, int(match.group(2)))

    @classmethod
    def of(cls, instant: datetime) -> Period:
        """The period an instant falls in (read in China Standard Time)."""
        local = instant.astimezone(CST)
        return _month(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    # Cached: the projector asks every case's months for them (a frozen dataclass still has a __dict__).
    @cached_property
    def start(self) -> datetime:
        """The first instant of the month."""
        return datetime(self.year, self.month, 1, tzinfo=CST)

    @cached_property
    def end(self) -> datetime:
        """The first instant after the month (periods are half-open: start <= t < end)."""
        return self.next().start

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


@lru_cache(maxsize=4096)
def _month(year: int, month: int) -> Period:
    """The period of ``year`` and ``month``, one object per month, so its start and end are computed once."""
    return Period(year, month)


def use_calendar(calendar: ReportingCalendar | None) -> None:
    """Read deadlines from ``calendar`` from now on (None: the bundled calendar again)."""
    global _calendar
    _calendar = calendar


def reporting_calendar() -> ReportingCalendar:
    """The calendar deadlines are read from."""
    return _calendar if _calendar is not None else default_calendar()


def deadline(period: Period, level: str, jurisdiction: str | None = None) -> date | None:
    """The day a ``level`` office (at ``jurisdiction``, whose subtree may have its own calendar) must
    have reported ``period`` by (None: no monthly table for it)."""
    return reporting_calendar().due_on(jurisdiction, level, period.year, period.month)


def is_overdue(due: date, submitted: bool, now: datetime) -> bool:
    """Overdue once the due day has passed in the calendar's time zone (China Standard Time) without a
    submission."""
    return not submitted and now >= reporting_calendar().overdue_from(due)


def days_after(due: date, instant: datetime) -> int:
    """Calendar days from the due day to the day of ``instant`` in the calendar's time zone (China
    Standard Time): 0 on the due day, 1 on the day after (late), negative before it."""
    return (reporting_calendar().today(instant) - due).days
