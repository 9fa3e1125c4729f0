"""Reminders on a fixed clock: 大店社区 reports by the 20th, 龙岗街道 by the 5th; a key case filed by the
police on 10 April 2024 must be tried by 10 April 2026, is supervised from 2027 and cleared by 2029."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from contracts.envelope import GENESIS_HASH, Actor, uuid7
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseEscalated,
    ClosedPayload,
    EscalatedPayload,
    seal_event,
)
from contracts.notices import seal_notice, verify_notices
from contracts.reporting_calendar import default_calendar
from contracts.vocabulary import EscalationTarget, Grade, Outcome
from services.notify.domain.cases import CaseFacts, fold
from services.notify.domain.notice import BEIJING
from services.notify.domain.reminders import (
    Reminder,
    ReportingOffice,
    ack_overdue,
    key_case_reminders,
    reporting_reminders,
)
from tests.notify_facts import filed_key_case

CALENDAR = default_calendar()
DADIAN = ReportingOffice("dadian-community-office", "340102L01003", "community")
LONGGANG = ReportingOffice("longgang-street-office", "340102L01", "street")
YAOHAI = ReportingOffice("yaohai-lead-office", "340102", "district")


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BEIJING)


def reminders(now: datetime, offices: list[ReportingOffice], lead_days: int) -> list[Reminder]:
    return reporting_reminders(now, offices, lead_days, CALENDAR)


def test_a_community_is_reminded_in_the_days_before_the_20th_and_a_street_before_the_5th() -> None:
    offices = [DADIAN, LONGGANG, YAOHAI]
    assert reminders(at(date(2026, 3, 14)), offices, lead_days=5) == []
    due = reminders(at(date(2026, 3, 16)), offices, lead_days=5)
    assert [(r.recipients, r.facts["period"], r.facts["due_on"], r.facts["days_left"]) for r in due] == [
        (("dadian-community-office",), "2026-03", "2026-03-20", 4)
    ]
    assert due[0].dedupe_key == "reporting-deadline/dadian-community-office/2026-03/2026-03-20"
    # After the 20th the community's next deadline is next month; the street's March report, due on
    # 5 April, is near.
    due = reminders(at(date(2026, 3, 31)), offices, lead_days=5)
    assert [(r.recipients, r.facts["period"], r.facts["due_on"]) for r in due] == [
        (("longgang-street-office",), "2026-03", "2026-04-05")
    ]
    # A district reports to nobody by a monthly deadline.
    assert all(r.recipients != ("yaohai-lead-office",) for r in due)


def test_the_deadline_day_itself_still_reminds_and_the_year_turns_over() -> None:
    assert reminders(at(date(2026, 3, 20), 23), [DADIAN], 5)[0].facts["days_left"] == 0
    due = reminders(at(date(2026, 12, 31)), [LONGGANG], 5)
    assert due[0].facts["due_on"] == "2027-01-05" and due[0].facts["period"] == "2026-12"


def test_the_day_is_the_calendar_day_in_china_standard_time() -> None:
    # 19 March 16:30 UTC is already 20 March 00:30 in Beijing: the community's report is due today.
    due = reminders(datetime(2026, 3, 19, 16, 30, tzinfo=UTC), [DADIAN], 5)
    assert [(r.facts["due_on"], r.facts["days_left"]) for r in due] == [("2026-03-20", 0)]


@given(day=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)), lead=st.integers(0, 27))
def test_one_reminder_per_office_and_month_whatever_the_day(day: date, lead: int) -> None:
    for office in (DADIAN, LONGGANG):
        due = reminders(at(day), [office], lead)
        assert len(due) <= 1
        for reminder in due:
            due_on = date.fromisoformat(reminder.facts["due_on"])
            assert 0 <= (due_on - day).days <= lead
            assert reminder.dedupe_key.endswith(f"{reminder.facts['period']}/{due_on}")
            assert (
                CALENDAR.due_on(
                    office.jurisdiction, office.level, *map(int, reminder.facts["period"].split("-"))
                )
                == due_on
            )


def key_case(**changes: object) -> CaseFacts:
    return filed_key_case(uuid.UUID("01a20000-0000-7000-8000-0000000000aa"), **changes)


def test_a_key_case_is_reminded_of_each_limit_once_from_the_lead_days_before_it() -> None:
    case = key_case()
    assert key_case_reminders(at(date(2026, 3, 1)), [case], lead_days=30) == []
    due = key_case_reminders(at(date(2026, 3, 20)), [case], lead_days=30)
    assert [(r.facts["limit"], r.facts["due_on"], r.facts["days_left"]) for r in due] == [
        ("trial_and_return_by", "2026-04-10", 21)
    ]
    assert due[0].stream == str(case.case_id) and due[0].case_id == case.case_id
    # Past a limit the reminder still comes (once: the dedupe key names the limit, not the day).
    late = key_case_reminders(at(date(2029, 4, 1)), [case], lead_days=30)
    assert {r.dedupe_key for r in late} == {
        f"key-case-deadline/{case.case_id}/{name}"
        for name in ("trial_and_return_by", "supervision_from", "clearance_by")
    }


def test_closed_and_ordinary_cases_get_no_key_case_reminder() -> None:
    assert key_case_reminders(at(date(2029, 4, 1)), [key_case(closed=True)], 30) == []
    assert key_case_reminders(at(date(2029, 4, 1)), [key_case(key_case=False)], 30) == []


def test_an_unacknowledged_notice_is_overdue_after_the_timeout_only() -> None:
    delivered = datetime(2026, 3, 1, 8, tzinfo=UTC)
    assert not ack_overdue(delivered, delivered + timedelta(hours=23, minutes=59), timedelta(hours=24))
    assert ack_overdue(delivered, delivered + timedelta(hours=24), timedelta(hours=24))


def test_the_fold_keeps_grade_department_police_transfer_and_closure_and_ignores_repeats() -> None:
    case_id, triage = uuid7(), Actor(kind="service", id="triage")
    assessed = seal_event(
        CaseAssessed,
        case_id=case_id,
        seq=2,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=triage,
        payload=AssessedPayload(
            grade=Grade.MAJOR,
            score=90,
            factors=[],
            rule_set="v1",
            key_case=True,
            responsible_department="财政金融局、人民银行",
            participants=None,
            estimated_amount_yuan=None,
        ),
        correlation_id=uuid.uuid4(),
    )
    transfer = seal_event(
        CaseEscalated,
        case_id=case_id,
        seq=3,
        prev_hash=assessed.hash,
        jurisdiction="340102L01003",
        actor=triage,
        payload=EscalatedPayload(target=EscalationTarget.POLICE, target_jurisdiction="340102", reason="移送"),
        correlation_id=uuid.uuid4(),
        occurred_at=datetime(2026, 3, 2, 2, tzinfo=UTC),
    )
    closed = seal_event(
        CaseClosed,
        case_id=case_id,
        seq=4,
        prev_hash=transfer.hash,
        jurisdiction="340102L01003",
        actor=triage,
        payload=ClosedPayload(outcome=Outcome.TRANSFERRED_TO_POLICE, summary="已移送"),
        correlation_id=uuid.uuid4(),
    )
    # The case as notify holds it after its clue (seq 1, whose hash the assessment names).
    facts = CaseFacts(case_id=case_id, jurisdiction="340102L01003", last_seq=1, hashes=(GENESIS_HASH,))
    for event in (assessed, transfer, transfer, closed):
        facts = fold(facts, event)
    assert facts is not None
    assert (facts.grade, facts.key_case, facts.responsible_department) == (
        "major",
        True,
        "财政金融局、人民银行",
    )
    assert facts.police_transferred_on == date(2026, 3, 2) and facts.closed and facts.last_seq == 4
    assert fold(facts, assessed) is facts


def test_notice_streams_verify_like_case_streams_and_name_the_first_broken_notice() -> None:
    first = seal_notice(
        kind="reporting-deadline",
        stream="reporting-deadline/340102L01003",
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        occurred_at=at(date(2026, 3, 16)),
        recipients=["dadian-community-office"],
        facts={"period": "2026-03"},
    )
    second = seal_notice(
        kind="reporting-deadline",
        stream=first.stream,
        seq=2,
        prev_hash=first.hash,
        jurisdiction="340102L01003",
        occurred_at=at(date(2026, 4, 16)),
        recipients=["dadian-community-office"],
        facts={"period": "2026-04"},
    )
    documents = [first.model_dump(mode="json"), second.model_dump(mode="json")]
    assert verify_notices([*documents, documents[1]]) == {}
    altered = [documents[0], {**documents[1], "facts": {"period": "2026-05"}}]
    broken = verify_notices(altered)[first.stream]
    assert broken.seq == 2 and "altered" in broken.reason
    assert "seq 2 follows seq 0" in verify_notices([documents[1]])[first.stream].reason
