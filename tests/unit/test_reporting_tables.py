"""Reporting's pure table rules: periods and deadlines, the ageing lists, the workflow events in the fold."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import BaseModel

from contracts.envelope import Actor, Envelope
from contracts.events import (
    CaseMerged,
    HandoffAccepted,
    HandoffAcceptedPayload,
    HandoffRequested,
    HandoffRequestedPayload,
    KeyCaseFlagged,
    KeyCaseFlaggedPayload,
    MergedPayload,
    PoliceReturned,
    PoliceReturnedPayload,
    ReferralPackaged,
    ReferralPackagedPayload,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.vocabulary import CaseStatus
from services.reporting.domain.ledger import fold
from services.reporting.domain.periods import CST, Period, deadline, is_overdue
from services.reporting.domain.tables import (
    CaseRecord,
    Fact,
    ageing,
    became_case_at,
    deadlines,
    no_fundraising_communities,
    whole_years,
)
from tests.unit.case_chains import clue

HUADU = "340102L01001"
OFFICER = Actor(kind="officer", id="officer-9", role="district_lead_officer")


def test_periods_are_calendar_months_in_china_standard_time() -> None:
    october = Period.parse("2026-10")
    assert october.start.isoformat() == "2026-10-01T00:00:00+08:00"
    assert october.contains(datetime.fromisoformat("2026-09-30T16:00:00+00:00"))  # 10-01 00:00 in Beijing
    assert not october.contains(datetime.fromisoformat("2026-10-31T16:00:00+00:00"))
    assert (str(Period(2026, 12).next()), str(Period(2026, 1).previous())) == ("2027-01", "2025-12")
    with pytest.raises(ValueError):
        Period.parse("2026-13")


def test_deadlines_communities_by_the_20th_streets_by_the_5th_of_the_next_month() -> None:
    assert deadline(Period(2026, 12), "community") == date(2026, 12, 20)
    assert deadline(Period(2026, 12), "street") == date(2027, 1, 5)
    assert deadline(Period(2026, 12), "district") is None
    due = date(2027, 1, 5)
    assert not is_overdue(due, False, datetime(2027, 1, 5, 23, 59, tzinfo=CST))
    assert is_overdue(due, False, datetime(2027, 1, 6, 0, 0, tzinfo=CST))
    assert not is_overdue(due, True, datetime(2027, 3, 1, tzinfo=CST))


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 12, 31)), st.integers(1, 8))
def test_whole_years_turn_on_the_anniversary(start: date, years: int) -> None:
    assume((start.month, start.day) != (2, 29))
    filed = datetime(start.year, start.month, start.day, 9, tzinfo=CST)
    anniversary = filed.replace(year=start.year + years)
    assert whole_years(filed, anniversary) == years
    assert whole_years(filed, anniversary - timedelta(seconds=1)) == years - 1


def test_a_case_filed_on_29_february_turns_a_year_on_1_march() -> None:
    filed = datetime(2024, 2, 29, tzinfo=CST)
    assert whole_years(filed, datetime(2025, 2, 28, 23, tzinfo=CST)) == 0
    assert whole_years(filed, datetime(2025, 3, 1, tzinfo=CST)) == 1


def _case(name: str, filed: str, *more: tuple[str, str]) -> CaseRecord:
    def fact(kind: str, day: str, **payload: object) -> Fact:
        return Fact(kind, datetime.fromisoformat(day).replace(tzinfo=CST), HUADU, payload)

    facts = [
        fact("clue-reported", "2019-01-01", subject={"name": name}, estimated_amount_yuan=10, participants=2),
        fact("escalated", filed, target="police"),
        fact("police-accepted", filed, accepted_at=f"{filed}T00:00:00+08:00"),
        *(fact(kind, day) for kind, day in more),
    ]
    return CaseRecord({"case_id": name}, tuple(facts))


def test_ageing_lists_the_2_3_and_5_year_rules_for_open_filed_cases() -> None:
    at = datetime(2026, 11, 10, 12, tzinfo=CST)
    cases = [
        _case("five", "2021-11-10"),
        _case("almost-five", "2021-11-11"),
        _case("two", "2024-06-01"),
        _case("one", "2025-06-01"),
        _case("closed", "2019-06-01", ("closed", "2025-01-01")),
        _case("reopened", "2019-06-01", ("written-off", "2025-01-01"), ("reopened", "2025-03-01")),
    ]
    table = ageing(cases, default_registry(), "340102", at)
    assert [(r["case_id"], r["years"], r["rule"][:5]) for r in table.rows] == [
        ("reopened", 7, "刑事立案5"),
        ("five", 5, "刑事立案5"),
        ("almost-five", 4, "刑事立案3"),
        ("two", 2, "超过立案后"),
    ]
    # As the list stood before the case was reopened, it was not on it.
    earlier = ageing(cases, default_registry(), "340102", datetime(2025, 2, 1, tzinfo=CST))
    assert "reopened" not in [r["case_id"] for r in earlier.rows]


def _facts(name: str, *facts: tuple[str, str, dict[str, object]], reported: str = "2019-01-01") -> CaseRecord:
    """A case of 华都 named ``name``: its clue (``reported``, 7 people), then (type, day, payload) facts."""
    clue = ("clue-reported", reported, {"subject": {"name": name}, "participants": 7})
    return CaseRecord(
        {"case_id": name},
        tuple(
            Fact(kind, datetime.fromisoformat(day).replace(tzinfo=CST), HUADU, payload)
            for kind, day, payload in (clue, *facts)
        ),
    )


def test_a_filed_case_stays_on_the_ageing_lists_until_it_is_cleared() -> None:
    filed = [
        ("escalated", "2020-01-01", {"target": "police"}),
        ("police-accepted", "2020-02-01", {"accepted_at": "2020-02-01T00:00:00+08:00"}),
    ]
    cases = [
        _facts("open", *filed),
        _facts("closed-transferred", *filed, ("closed", "2020-06-01", {"outcome": "transferred_to_police"})),
        _facts("closed-returned-funds", *filed, ("closed", "2020-06-01", {"outcome": "funds_returned"})),
        _facts("written-off", *filed, ("written-off", "2024-06-01", {"outcome": "transferred_to_police"})),
        _facts("merged", *filed, ("merged", "2021-06-01", {"into_case_id": "x"})),
        _facts("returned", *filed, ("police-returned", "2020-09-01", {"reason": "证据不足。"})),
        _facts(
            "transfer-only",
            ("escalated", "2021-01-01", {"target": "police"}),
            ("closed", "2021-02-01", {"outcome": "transferred_to_police"}),
        ),
    ]
    at = datetime(2026, 11, 1, tzinfo=CST)
    listed = [
        (r["case_id"], r["years"], r["progress"]) for r in ageing(cases, default_registry(), HUADU, at).rows
    ]
    assert listed == [
        ("closed-transferred", 6, "已移送公安办结，待审判清退"),
        ("open", 6, "在办"),
        ("transfer-only", 5, "已移送公安办结，待审判清退"),
    ]
    # Before it was written off, the written-off case was listed as well.
    before = ageing(cases, default_registry(), HUADU, datetime(2024, 5, 1, tzinfo=CST)).rows
    assert "written-off" in [r["case_id"] for r in before]


def test_a_new_case_counts_once_in_the_month_it_was_first_determined_a_case() -> None:
    late = _facts(
        "late",
        ("determined", "2026-11-03", {"determination": "suspected_illegal_fundraising"}),
        ("determined", "2026-12-05", {"determination": "suspected_crime"}),
        reported="2026-10-28",
    )
    cleared = _facts(
        "cleared",
        ("determined", "2026-10-02", {"determination": "general_violation"}),
        ("determined", "2026-11-20", {"determination": "no_violation"}),
    )
    assert became_case_at(late) == datetime(2026, 11, 3, tzinfo=CST)
    assert became_case_at(cleared) is None

    def huadu(period: Period) -> tuple[int, int, int]:
        table = no_fundraising_communities([late, cleared], default_registry(), "340102L01", period)
        row = next(r for r in table.rows if r["community"] == HUADU)
        return row["new_clues"], row["new_cases"], row["participants"]

    assert [huadu(Period(2026, m)) for m in (10, 11, 12)] == [(1, 0, 0), (0, 1, 7), (0, 0, 0)]


def test_deadlines_say_who_sent_late_and_by_how_many_days() -> None:
    street, huadu, shicheng = "340102L01", HUADU, "340102L01002"
    submitted = {
        street: datetime(2026, 11, 5, 23, 59, tzinfo=CST),  # on the due day
        huadu: datetime(2026, 10, 22, 9, tzinfo=CST),  # due 10-20
        shicheng: datetime(2026, 10, 20, 16, 30, tzinfo=UTC),  # 10-21 00:30 in Beijing
    }
    now = datetime(2026, 11, 10, 12, tzinfo=CST)
    rows = {
        r["jurisdiction"]: r
        for r in deadlines(default_registry(), street, Period(2026, 10), submitted, now).rows
    }
    assert (rows[street]["state"], rows[street]["days_late"], rows[street]["overdue"]) == ("已报送", 0, False)
    assert (rows[huadu]["state"], rows[huadu]["days_late"], rows[huadu]["overdue"]) == ("逾期报送", 2, False)
    assert (rows[shicheng]["state"], rows[shicheng]["days_late"]) == ("逾期报送", 1)
    others = [r for code, r in rows.items() if code not in submitted]
    assert {(r["state"], r["days_late"], r["overdue"]) for r in others} == {("逾期未报", 21, True)}
    early = deadlines(
        default_registry(), street, Period(2026, 10), {}, datetime(2026, 10, 20, 23, tzinfo=CST)
    )
    assert {(r["jurisdiction"] == street, r["state"], r["days_late"]) for r in early.rows} == {
        (True, "待报送", 0),
        (False, "待报送", 0),
    }


def test_workflow_events_fold_into_the_ledger_and_other_types_are_history() -> None:
    events = [clue(uuid.uuid4())]
    case_id = events[0].case_id

    def then(cls: type[Envelope], payload: BaseModel, jurisdiction: str = HUADU) -> None:
        events.append(
            seal_event(
                cls, case_id=case_id, seq=len(events) + 1, prev_hash=events[-1].hash,
                jurisdiction=jurisdiction, actor=OFFICER, payload=payload, correlation_id=case_id,
            )
        )  # fmt: skip

    then(KeyCaseFlagged, KeyCaseFlaggedPayload(reasons=["amount"], supervising_leader="区政府分管副区长"))
    then(ReferralPackaged, ReferralPackagedPayload(manifest_sha256="c" * 64, through_seq=3, event_count=3,
                                                   summary="移送材料。"))  # fmt: skip
    then(PoliceReturned, PoliceReturnedPayload(reason="证据不足。", police_jurisdiction="340102"))
    then(HandoffRequested, HandoffRequestedPayload(from_jurisdiction=HUADU, to_jurisdiction="340422",
                                                   reason="主要涉案地在寿县。"), "340422")  # fmt: skip
    state = None
    for event in events:
        state = fold(state, event)
    assert state is not None
    assert (state.key_case, state.supervising_leader, state.key_case_reasons) == (
        True,
        "区政府分管副区长",
        ("amount",),
    )
    assert (state.status, state.transferred_to_police, state.jurisdiction) == (
        CaseStatus.UNDER_DISPOSAL, False, HUADU)  # fmt: skip
    # Reported and flagged, then returned by the police: with the office again.
    assert state.last_seq == len(events)  # the referral bundle is history only, yet advances the chain
    assert state.held_by == (HUADU,)  # offered, not taken over: 寿县 has not held it
    then(HandoffAccepted, HandoffAcceptedPayload(from_jurisdiction=HUADU, to_jurisdiction="340422"), "340422")
    then(
        CaseMerged,
        MergedPayload(into_case_id=uuid.UUID(int=7), reason="同一主体。", basis="credit_code"),
        "340422",
    )
    state = fold(fold(state, events[-2]), events[-1])
    assert (state.jurisdiction, state.status, state.merged_into) == (
        "340422",
        CaseStatus.MERGED,
        str(uuid.UUID(int=7)),
    )
    # 华都社区 handed the case to 寿县 and still reads its trail
    assert state.held_by == (HUADU, "340422")
