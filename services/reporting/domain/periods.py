"""Monthly reporting periods (统计期) in China Standard Time and their reporting deadlines.

Communities report a month's progress by the 20th of that month (seed 000: 各社区每月20日前报送); streets
send the ledger and disposal tables of a month by the 5th of the following month (seed 001: 每月5日前).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
COMMUNITY_DAY = 20
STREET_DAY = 5


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
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, instant: datetime) -> Period:
        """The period an instant falls in (read in China Standard Time)."""
        local = instant.astimezone(CST)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    @property
    def start(self) -> datetime:
        """The first instant of the month."""
        return datetime(self.year, self.month, 1, tzinfo=CST)

    @property
    def end(self) -> datetime:
        """The first instant after the month (periods are half-open: start <= t < end)."""
        return self.next().start

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def deadline(period: Period, level: str) -> date | None:
    """The day a ``level`` office must have reported ``period`` by (None: no monthly table for it)."""
    if level == "community":
        return date(period.year, period.month, COMMUNITY_DAY)
    if level == "street":
        following = period.next()
        return date(following.year, following.month, STREET_DAY)
    return None


def is_overdue(due: date, submitted: bool, now: datetime) -> bool:
    """Overdue once the due day has passed in China Standard Time without a submission."""
    return not submitted and now >= datetime.combine(due + timedelta(days=1), time(0), tzinfo=CST)
