"""The monthly reporting calendar (报送时限): by which day each office reports a month, shared by the
services that remind offices of it (notify) and that list who is overdue (reporting).

Loaded from ``data/reporting-calendar.json`` (or a file the deployment names with
``CLUETRAIL_REPORTING_CALENDAR_FILE``) and validated against the jurisdiction tree, so a bad entry stops a
service at start-up with a message naming it.

- ``defaults`` give each level of the tree its due day: communities report a month by the 20th of that
  month (seed 000: 各社区每月20日前报送), streets by the 5th of the following month (seed 001: 每月5日前).
  Districts, cities and provinces have no monthly deadline in the seeds (half-year and final summaries
  only, and major risks at once), nor do grids (their community reports): ``null``.
- ``overrides`` let a jurisdiction set its own calendar for its subtree: an override at a district sets
  the due day of the streets and communities under it (and the district's own, if it names its level).
  The nearest override wins: one at a street beats one at its district.
- ``timezone``: a due day ends at midnight of this time zone (China Standard Time, UTC+08:00).
"""

from __future__ import annotations

import calendar as month_days
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from contracts.codes import JurisdictionCode
from contracts.jurisdictions import LEVEL_ORDER, JurisdictionRegistry, Level, default_registry

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


class CalendarError(ValueError):
    """The reporting calendar breaks a rule; the message names the bad entry."""


class DueDay(BaseModel):
    """When a month's report is due: ``day`` of the period's own month (``period``) or of the month after
    it (``following``). A day past a month's end means that month's last day (31: 月底前)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: int = Field(ge=1, le=31)
    month: Literal["period", "following"]
    source: str | None = Field(None, max_length=500, description="The document that sets this day")


class TimeZoneSpec(BaseModel):
    """The time zone a due day ends in: China Standard Time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    utc_offset: str = Field(pattern=r"^[+-]\d{2}:\d{2}$", description="e.g. +08:00")

    @field_validator("utc_offset")
    @classmethod
    def _within_a_day(cls, value: str) -> str:
        match = _OFFSET.match(value)
        if match is None or int(match.group(2)) > 14 or int(match.group(3)) >= 60:
            raise ValueError(f"{value} is not a UTC offset")
        return value

    @property
    def tzinfo(self) -> timezone:
        match = _OFFSET.match(self.utc_offset)
        assert match is not None  # checked by the validator
        sign = -1 if match.group(1) == "-" else 1
        offset = timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return timezone(sign * offset, self.name)


class CalendarOverride(BaseModel):
    """A jurisdiction's own due days for levels of its subtree (``null``: that level makes no monthly
    report there)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jurisdiction: JurisdictionCode
    levels: dict[Level, DueDay | None] = Field(min_length=1)
    note: str | None = Field(None, max_length=500, description="Why: the document that sets it")


class ReportingCalendarData(BaseModel):
    """The calendar file as written: defaults per level, overrides per jurisdiction, the time zone."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: TimeZoneSpec
    defaults: dict[Level, DueDay | None]
    overrides: list[CalendarOverride] = Field(default_factory=list)


@dataclass(frozen=True)
class Due:
    """A report that falls due: the month it covers (``YYYY-MM``) and the last day to send it."""

    period: str
    due_on: date


def _month(year: int, month: int, shift: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + shift
    return index // 12, index % 12 + 1


class ReportingCalendar:
    """Due days on a validated calendar and jurisdiction tree."""

    def __init__(self, data: ReportingCalendarData, registry: JurisdictionRegistry, origin: str) -> None:
        self.data = data
        self.registry = registry
        self.tzinfo = data.timezone.tzinfo
        self._overrides: dict[str, CalendarOverride] = {}
        for index, override in enumerate(data.overrides):
            label = f"{origin}: override {index} ({override.jurisdiction})"
            if override.jurisdiction not in registry:
                raise CalendarError(f"{label}: unknown jurisdiction")
            if override.jurisdiction in self._overrides:
                raise CalendarError(f"{label}: the jurisdiction has another override")
            node = registry.get(override.jurisdiction)
            above = [lv for lv in override.levels if LEVEL_ORDER.index(lv) < LEVEL_ORDER.index(node.level)]
            if above:
                raise CalendarError(
                    f"{label}: {node.name} is a {node.level}; its subtree has no {', '.join(above)} level"
                )
            self._overrides[override.jurisdiction] = override

    @classmethod
    def from_json(
        cls, text: str, registry: JurisdictionRegistry, origin: str = "reporting calendar"
    ) -> ReportingCalendar:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CalendarError(f"{origin}: not JSON ({exc})") from exc
        if not isinstance(raw, dict):
            raise CalendarError(f"{origin}: not a JSON object")
        for index, entry in enumerate(raw.get("overrides") or []):
            try:
                CalendarOverride.model_validate(entry)
            except ValidationError as exc:
                code = entry.get("jurisdiction") if isinstance(entry, dict) else None
                raise CalendarError(f"{origin}: override {index} ({code}): {exc}") from exc
        try:
            data = ReportingCalendarData.model_validate(raw)
        except ValidationError as exc:
            raise CalendarError(f"{origin}: {exc}") from exc
        return cls(data, registry, origin)

    @classmethod
    def load(cls, path: Path | None, registry: JurisdictionRegistry) -> ReportingCalendar:
        """The deployment's calendar (``path``) or the bundled one, checked against ``registry``."""
        if path is not None:
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CalendarError(f"{path}: cannot read the reporting calendar ({exc})") from exc
            return cls.from_json(text, registry, str(path))
        return cls.from_json(_bundled_text(), registry, "contracts/data/reporting-calendar.json")

    def rule(self, jurisdiction: str | None, level: Level | str) -> DueDay | None:
        """The due day of an office of ``level`` at ``jurisdiction``: the nearest override of the node or
        an ancestor naming that level, else the level's default. None: no monthly report."""
        wanted = cast(Level, level)
        if jurisdiction is not None and jurisdiction in self.registry:
            node = self.registry.get(jurisdiction)
            for place in (node, *self.registry.ancestors(jurisdiction)):
                override = self._overrides.get(place.code)
                if override is not None and wanted in override.levels:
                    return override.levels[wanted]
        return self.data.defaults.get(wanted)

    def due_on(self, jurisdiction: str | None, level: Level | str, year: int, month: int) -> date | None:
        """The last day to report the month ``year``-``month`` (None: no monthly report)."""
        rule = self.rule(jurisdiction, level)
        if rule is None:
            return None
        due_year, due_month = _month(year, month, 1 if rule.month == "following" else 0)
        return date(due_year, due_month, min(rule.day, month_days.monthrange(due_year, due_month)[1]))

    def next_due(self, jurisdiction: str | None, level: Level | str, today: date) -> Due | None:
        """The first report still due on or after ``today`` (a date in the calendar's time zone)."""
        for shift in (-1, 0, 1):
            year, month = _month(today.year, today.month, shift)
            due = self.due_on(jurisdiction, level, year, month)
            if due is None:
                return None
            if due >= today:
                return Due(f"{year:04d}-{month:02d}", due)
        return None  # unreachable: next month's report is always due after today

    def overdue_from(self, due: date) -> datetime:
        """The first instant a report due on ``due`` is late: midnight after it, in the calendar's zone."""
        return datetime.combine(due + timedelta(days=1), time(0), tzinfo=self.tzinfo)

    def today(self, instant: datetime) -> date:
        """The calendar day of ``instant`` in the calendar's time zone."""
        return instant.astimezone(self.tzinfo).date()


def _bundled_text() -> str:
    return resources.files("contracts").joinpath("data/reporting-calendar.json").read_text(encoding="utf-8")


@cache
def default_calendar() -> ReportingCalendar:
    """The bundled calendar on the bundled jurisdiction tree."""
    return ReportingCalendar.from_json(
        _bundled_text(), default_registry(), "contracts/data/reporting-calendar.json"
    )
