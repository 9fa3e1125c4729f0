"""The shared reporting calendar: 大店社区 reports a month by the 20th, 龙岗街道 by the 5th of the month
after; 瑶海区 and above have no monthly deadline; a jurisdiction's own days apply to its subtree only, and the
nearest one wins. Reporting's deadlines and overdue items read the same calendar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.jurisdictions import LEVEL_ORDER, default_registry
from contracts.reporting_calendar import CalendarError, ReportingCalendar, default_calendar
from services.notify.bootstrap import create_app as notify_app
from services.notify.settings import NotifySettings
from services.reporting.bootstrap import create_app as reporting_app
from services.reporting.domain.periods import CST, Period, deadline, is_overdue, use_calendar
from services.reporting.settings import ReportingSettings

REGISTRY = default_registry()
BUNDLED = json.loads(
    (Path(__file__).parents[2] / "contracts" / "data" / "reporting-calendar.json").read_text(encoding="utf-8")
)
DADIAN, LONGGANG, YAOHAI, SHUANGQIAO = "340102L01003", "340102L01", "340102", "340422L01"
ZAOZHUANG_HITECH, XINGREN = "3704GX", "3704GXL01"
NODES = REGISTRY.all()


def calendar_with(*overrides: dict[str, Any], **changes: Any) -> ReportingCalendar:
    raw = {**BUNDLED, "overrides": list(overrides), **changes}
    return ReportingCalendar.from_json(json.dumps(raw, ensure_ascii=False), REGISTRY, "calendar.json")


@contextmanager
def reporting_reads(calendar: ReportingCalendar) -> Iterator[None]:
    use_calendar(calendar)
    try:
        yield
    finally:
        use_calendar(None)


def test_the_bundled_calendar_follows_the_seeds() -> None:
    calendar = default_calendar()
    assert calendar.due_on(DADIAN, "community", 2026, 3) == date(2026, 3, 20)
    assert calendar.due_on(LONGGANG, "street", 2026, 12) == date(2027, 1, 5)
    for level in ("district", "city", "province", "grid"):
        assert calendar.rule(None, level) is None
    assert calendar.tzinfo.utcoffset(None) == timedelta(hours=8)
    assert ReportingCalendar.load(None, REGISTRY).data == calendar.data


def test_an_override_sets_the_day_of_its_subtree_and_the_nearest_one_wins() -> None:
    calendar = calendar_with(
        {"jurisdiction": ZAOZHUANG_HITECH, "levels": {"street": {"day": 10, "month": "following"}}},
        {"jurisdiction": XINGREN, "levels": {"street": {"day": 25, "month": "period"}}},
        {"jurisdiction": YAOHAI, "levels": {"community": None, "district": {"day": 8, "month": "following"}}},
    )
    assert calendar.due_on("3704GXL02", "street", 2026, 10) == date(2026, 11, 10)
    assert calendar.due_on(XINGREN, "street", 2026, 10) == date(2026, 10, 25)
    assert calendar.due_on(SHUANGQIAO, "street", 2026, 10) == date(2026, 11, 5)  # another district
    assert calendar.due_on(DADIAN, "community", 2026, 10) is None  # 瑶海区's communities: no monthly report
    assert calendar.due_on(YAOHAI, "district", 2026, 10) == date(2026, 11, 8)
    assert calendar.due_on(LONGGANG, "street", 2026, 10) == date(2026, 11, 5)  # not named: the default


def test_a_day_past_the_end_of_a_month_is_its_last_day() -> None:
    calendar = calendar_with(
        {"jurisdiction": LONGGANG, "levels": {"street": {"day": 31, "month": "following"}}}
    )
    assert calendar.due_on(LONGGANG, "street", 2026, 1) == date(2026, 2, 28)
    assert calendar.due_on(LONGGANG, "street", 2027, 12) == date(2028, 1, 31)


@pytest.mark.parametrize(
    ("override", "changes", "message"),
    [
        ({"jurisdiction": "340102L09", "levels": {"street": None}}, {}, "override 0 (340102L09): unknown"),
        ({"jurisdiction": DADIAN, "levels": {"street": None}}, {}, "its subtree has no street level"),
        ({"jurisdiction": LONGGANG, "levels": {"street": {"day": 32, "month": "period"}}}, {}, "override 0"),
        ({"jurisdiction": LONGGANG, "levels": {"town": None}}, {}, "override 0 (340102L01)"),
        ({"jurisdiction": LONGGANG, "levels": {}}, {}, "override 0 (340102L01)"),
        (None, {"defaults": {"street": {"day": 5, "month": "next"}}}, "defaults.street"),
        (None, {"timezone": {"name": "CST", "utc_offset": "+8"}}, "timezone.utc_offset"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_refused_with_a_message_naming_it(
    override: dict[str, Any] | None, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(CalendarError, match=message.replace("(", r"\(").replace(")", r"\)")) as refused:
        calendar_with(*([override] if override else []), **changes)
    assert str(refused.value).startswith("calendar.json")


def test_two_overrides_of_one_jurisdiction_and_broken_files_are_refused(tmp_path: Path) -> None:
    twice = {"jurisdiction": LONGGANG, "levels": {"street": None}}
    with pytest.raises(CalendarError, match=r"override 1 \(340102L01\): the jurisdiction has another"):
        calendar_with(twice, twice)
    broken = tmp_path / "calendar.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(CalendarError, match=f"{broken}: not JSON"):
        ReportingCalendar.load(broken, REGISTRY)
    with pytest.raises(CalendarError, match="cannot read"):
        ReportingCalendar.load(tmp_path / "missing.json", REGISTRY)


due_days = st.builds(
    lambda day, month: {"day": day, "month": month},
    st.integers(1, 31),
    st.sampled_from(["period", "following"]),
)
periods = st.builds(Period, st.integers(2020, 2040), st.integers(1, 12))


@settings(max_examples=200, deadline=None)
@given(period=periods, rule=due_days, node=st.sampled_from(NODES))
def test_a_period_is_due_in_its_own_month_or_inside_the_following_one(
    period: Period, rule: dict[str, Any], node: Any
) -> None:
    calendar = calendar_with(defaults={level: rule for level in LEVEL_ORDER})
    due = calendar.due_on(node.code, node.level, period.year, period.month)
    assert due is not None
    month = period.next() if rule["month"] == "following" else period
    assert month.start.date() <= due < month.end.date()
    assert due.day == min(rule["day"], (month.end - month.start).days)


@settings(max_examples=150, deadline=None)
@given(
    period=periods,
    rule=due_days,
    place=st.sampled_from([n for n in NODES if n.level != "grid"]),
    data=st.data(),
)
def test_an_override_changes_its_subtree_and_nothing_else(
    period: Period, rule: dict[str, Any], place: Any, data: st.DataObject
) -> None:
    level = data.draw(st.sampled_from(LEVEL_ORDER[LEVEL_ORDER.index(place.level) :]))
    plain = default_calendar()
    overridden = calendar_with({"jurisdiction": place.code, "levels": {level: rule}})
    for node in NODES:
        before = plain.due_on(node.code, node.level, period.year, period.month)
        after = overridden.due_on(node.code, node.level, period.year, period.month)
        if REGISTRY.is_within(node.code, place.code) and node.level == level:
            assert after == ReportingCalendar.from_json(
                json.dumps({**BUNDLED, "defaults": {level: rule}}), REGISTRY
            ).due_on(None, level, period.year, period.month)
        else:
            assert after == before, node.code


@settings(max_examples=200, deadline=None)
@given(today=st.dates(date(2020, 1, 1), date(2040, 12, 31)), rule=due_days)
def test_the_next_due_report_is_the_first_due_on_or_after_today(today: date, rule: dict[str, Any]) -> None:
    calendar = calendar_with(defaults={"street": rule})
    upcoming = calendar.next_due(LONGGANG, "street", today)
    assert upcoming is not None and upcoming.due_on >= today
    period = Period.parse(upcoming.period)
    assert calendar.due_on(LONGGANG, "street", period.year, period.month) == upcoming.due_on
    earlier = period.previous()
    assert calendar.due_on(LONGGANG, "street", earlier.year, earlier.month) < today  # type: ignore[operator]


def test_reporting_reads_deadlines_and_overdue_items_from_the_installed_calendar() -> None:
    october = Period(2026, 10)
    assert deadline(october, "street", XINGREN) == date(2026, 11, 5)
    calendar = calendar_with(
        {"jurisdiction": ZAOZHUANG_HITECH, "levels": {"street": {"day": 10, "month": "following"}}}
    )
    with reporting_reads(calendar):
        assert deadline(october, "street", XINGREN) == date(2026, 11, 10)
        assert deadline(october, "street", LONGGANG) == date(2026, 11, 5)
        assert deadline(october, "community", DADIAN) == date(2026, 10, 20)
        assert deadline(october, "district", ZAOZHUANG_HITECH) is None
        due = date(2026, 11, 10)
        assert not is_overdue(due, False, datetime(2026, 11, 10, 23, 59, tzinfo=CST))
        assert is_overdue(due, False, datetime(2026, 11, 10, 16, 0, tzinfo=CST) + timedelta(hours=8))
        assert not is_overdue(due, True, datetime(2027, 1, 1, tzinfo=CST))
    assert deadline(october, "street", XINGREN) == date(2026, 11, 5)


@pytest.mark.parametrize("service", ["notify", "reporting"])
def test_both_services_refuse_to_start_on_a_bad_calendar_naming_the_entry(
    service: str, tmp_path: Path
) -> None:
    path = tmp_path / "reporting-calendar.json"
    path.write_text(
        json.dumps({**BUNDLED, "overrides": [{"jurisdiction": LONGGANG, "levels": {"district": None}}]}),
        encoding="utf-8",
    )
    with pytest.raises(CalendarError, match=r"override 0 \(340102L01\): .*no district level"):
        if service == "notify":
            notify_app(NotifySettings(reporting_calendar_file=path))
        else:
            reporting_app(ReportingSettings(reporting_calendar_file=path))
