"""Which reminders are due at an instant: pure functions of the clock and what notify knows.

- Monthly reporting: the shared reporting calendar (``contracts/reporting_calendar.py``, the one
  reporting lists overdue offices by) says when each office's month is due: by default a community by
  the 20th (seed 000), a street by the 5th of the following month (seed 001), or a jurisdiction's own
  day for its subtree. The office is reminded from ``lead_days`` before the deadline until the
  deadline, once per period and due day.
- Key cases: a criminal case should be tried and funds returned within 2 years of police filing, is
  under leadership supervision (挂牌督办) from 3 years, and must be cleared by 5 years. The recipients of
  the case's place are reminded once per limit, from ``lead_days`` before it (or at once if it passed).

Each reminder carries a ``dedupe_key``: recording it twice (another instance, a restart, the next tick)
records it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from contracts.envelope import Envelope
from contracts.events import CaseEscalated
from contracts.reporting_calendar import ReportingCalendar
from contracts.vocabulary import EscalationTarget
from services.notify.domain.cases import CaseFacts
from services.notify.domain.notice import BEIJING
from services.notify.domain.recipients import Recipient

KEY_CASE_LIMITS: tuple[tuple[str, str], ...] = (
    ("trial_and_return_by", "审结并清退资金期限（立案后2年）"),
    ("supervision_from", "挂牌督办期限（立案后3年）"),
    ("clearance_by", "化解清零期限（立案后5年）"),
)


class Clock(Protocol):
    """Where notify reads "now"; tests use a fixed or advanced one."""

    def now(self) -> datetime: ...


@dataclass
class SystemClock:
    """The real clock, optionally shifted (a test deployment may move it forward)."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(BEIJING) + self.offset


@dataclass
class FixedClock:
    """A clock that says what it is told."""

    at: datetime

    def now(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class Reminder:
    """A notice that is due: who it is about, where, and what it says."""

    kind: str
    stream: str
    dedupe_key: str
    jurisdiction: str
    facts: dict[str, Any]
    case_id: uuid.UUID | None = None
    recipients: tuple[str, ...] = field(default=())  # empty: whoever routes this kind for the place


@dataclass(frozen=True)
class ReportingOffice:
    """An office with a reporting-deadline route, and the level of its jurisdiction."""

    recipient_id: str
    jurisdiction: str
    level: str


def reporting_reminders(
    now: datetime, offices: Iterable[ReportingOffice], lead_days: int, calendar: ReportingCalendar
) -> list[Reminder]:
    """Offices whose monthly report falls due within ``lead_days`` of ``now`` (a day of the calendar's
    time zone), each for the month it reports."""
    today = calendar.today(now)
    due: list[Reminder] = []
    for office in offices:
        upcoming = calendar.next_due(office.jurisdiction, office.level, today)
        if upcoming is None or (upcoming.due_on - today).days > lead_days:
            continue
        due.append(
            Reminder(
                kind="reporting-deadline",
                stream=f"reporting-deadline/{office.jurisdiction}",
                # Period and day: a calendar moved to another day reminds of the new day once more.
                dedupe_key=f"reporting-deadline/{office.recipient_id}/{upcoming.period}/{upcoming.due_on}",
                jurisdiction=office.jurisdiction,
                facts={
                    "period": upcoming.period,
                    "due_on": upcoming.due_on.isoformat(),
                    "days_left": (upcoming.due_on - today).days,
                    "level": office.level,
                },
                recipients=(office.recipient_id,),
            )
        )
    return due


def key_case_reminders(now: datetime, cases: Iterable[CaseFacts], lead_days: int) -> list[Reminder]:
    """Open key cases with a 2/3/5-year limit within ``lead_days`` of ``now`` (or already passed)."""
    today = now.astimezone(BEIJING).date()
    due: list[Reminder] = []
    for case in cases:
        if not case.key_case or case.closed:
            continue
        for field_name, label in KEY_CASE_LIMITS:
            limit: date | None = getattr(case, field_name)
            if limit is None or (limit - today).days > lead_days:
                continue
            due.append(
                Reminder(
                    kind="key-case-deadline",
                    stream=str(case.case_id),
                    dedupe_key=f"key-case-deadline/{case.case_id}/{field_name}",
                    jurisdiction=case.jurisdiction,
                    case_id=case.case_id,
                    facts={
                        "limit": field_name,
                        "limit_label": label,
                        "due_on": limit.isoformat(),
                        "days_left": (limit - today).days,
                        "criminal_filed_on": case.criminal_filed_on.isoformat()
                        if case.criminal_filed_on
                        else None,
                    },
                )
            )
    return due


def ack_overdue(delivered_at: datetime, now: datetime, timeout: timedelta) -> bool:
    """True when a notice delivered at ``delivered_at`` and still unacknowledged must go up a level."""
    return now - delivered_at >= timeout


# Notices of a key case of these types must be acknowledged by everyone told.
KEY_CASE_ACKNOWLEDGED = frozenset({"escalated", "key-case-flagged", "handoff-requested"})
# Every escalation to the police or up to an office (the district lead office, or on the way up a street
# or community office) must be acknowledged by the office it goes to.
ESCALATION_ROLES: dict[EscalationTarget, frozenset[str]] = {
    EscalationTarget.POLICE: frozenset({"police"}),
    EscalationTarget.LEAD_OFFICE: frozenset({"lead_office", "street_office", "community_office"}),
}


def needs_acknowledgement(event: Envelope, key_case: bool, recipient: Recipient) -> bool:
    """Must ``recipient`` acknowledge its notice of ``event``? Unacknowledged in time, it is reminded;
    for a key case the next level is told too (``Scheduler``)."""
    if recipient.role == "reporter":
        return False
    if key_case and event.type in KEY_CASE_ACKNOWLEDGED:
        return True
    if not isinstance(event, CaseEscalated):
        return False
    return recipient.role in ESCALATION_ROLES.get(event.payload.target, frozenset())
