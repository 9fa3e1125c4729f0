"""What notify remembers of a case: the facts routing and reminders need, folded from its events.

The responsible department (from the grade) lets a route reach a sector department; the key-case flag and
the police filing dates give the 2/3/5-year limits reminders count down to. Events of types notify does
not know are history: they only advance ``last_seq``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date

from contracts.envelope import Envelope
from contracts.events import CaseAssessed, CaseClosed, CaseEscalated
from contracts.vocabulary import EscalationTarget


@dataclass(frozen=True)
class CaseFacts:
    """A case as notify sees it."""

    case_id: uuid.UUID
    jurisdiction: str
    last_seq: int = 0
    grade: str | None = None
    key_case: bool = False
    responsible_department: str | None = None
    police_transferred_on: date | None = None
    criminal_filed_on: date | None = None
    trial_and_return_by: date | None = None
    supervision_from: date | None = None
    clearance_by: date | None = None
    closed: bool = False


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February falls on 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def fold(facts: CaseFacts | None, event: Envelope) -> CaseFacts:
    """The facts after ``event``; an event at or below ``last_seq`` (a redelivery) changes nothing."""
    current = facts or CaseFacts(case_id=event.case_id, jurisdiction=event.jurisdiction)
    if event.seq <= current.last_seq:
        return current
    current = replace(current, last_seq=event.seq)
    if isinstance(event, CaseAssessed):
        return replace(
            current,
            grade=event.payload.grade.value,
            key_case=current.key_case or event.payload.key_case,
            responsible_department=event.payload.responsible_department,
        )
    if isinstance(event, CaseEscalated) and event.payload.target == EscalationTarget.POLICE:
        return replace(current, police_transferred_on=event.occurred_at.date())
    if isinstance(event, CaseClosed) or event.type in ("written-off", "merged"):
        return replace(current, closed=True)
    if event.type == "reopened":
        return replace(current, closed=False)
    if event.type == "handoff-accepted":
        target = getattr(getattr(event, "payload", None), "to_jurisdiction", None)
        return replace(current, jurisdiction=target) if isinstance(target, str) else current
    if event.type == "police-accepted":
        accepted = getattr(getattr(event, "payload", None), "accepted_at", None)
        if accepted is not None:
            filed = accepted.date()
            return replace(
                current,
                criminal_filed_on=current.criminal_filed_on or filed,
                trial_and_return_by=current.trial_and_return_by or add_years(filed, 2),
                supervision_from=current.supervision_from or add_years(filed, 3),
                clearance_by=current.clearance_by or add_years(filed, 5),
            )
        return current
    if event.type == "key-case-flagged":
        payload = getattr(event, "payload", None)
        changes: dict[str, object] = {"key_case": True}
        for field in ("criminal_filed_on", "trial_and_return_by", "supervision_from", "clearance_by"):
            value = getattr(payload, field, None)
            if value is not None:
                changes[field] = value
        filed = changes.get("criminal_filed_on")
        if isinstance(filed, date):
            changes.setdefault("trial_and_return_by", add_years(filed, 2))
            changes.setdefault("supervision_from", add_years(filed, 3))
            changes.setdefault("clearance_by", add_years(filed, 5))
        return replace(current, **changes)  # type: ignore[arg-type]
    return current
