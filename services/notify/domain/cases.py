"""What notify remembers of a case: the facts routing, notices and reminders need, folded from its events.

The responsible department (from the grade) lets a route reach a sector department; the subject, sector,
money at risk, participants and grade are what a police unit or a lead office needs to act on a notice;
the key-case flag and the police filing dates give the 2/3/5-year limits reminders count down to. Nothing
of the reporter is ever kept. Events of types notify does not know only advance ``last_seq``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import date

from contracts.chain import Step, step_against
from contracts.envelope import Envelope
from contracts.events import CaseAssessed, CaseClosed, CaseEscalated, ClueReported
from contracts.vocabulary import EscalationTarget


@dataclass(frozen=True)
class CaseFacts:
    """A case as notify sees it."""

    case_id: uuid.UUID
    jurisdiction: str
    last_seq: int = 0
    # Every event hash of the case by seq, so a late copy of any event is known for the duplicate it is
    # and another event at its seq for a fork (``contracts.chain``). Empty for a case folded before they
    # were kept, which then only advances by seq.
    hashes: tuple[str, ...] = ()
    grade: str | None = None
    key_case: bool = False
    # Why it is a key case: the reasons of its grades and of officers' flags, in the order first given, as
    # triage keeps them (a key-case escalation's notice names them).
    key_case_reasons: tuple[str, ...] = ()
    responsible_department: str | None = None
    police_transferred_on: date | None = None
    criminal_filed_on: date | None = None
    trial_and_return_by: date | None = None
    supervision_from: date | None = None
    clearance_by: date | None = None
    closed: bool = False
    subject_name: str | None = None
    subject_kind: str | None = None
    sector: str | None = None
    estimated_amount_yuan: int | None = None
    participants: int | None = None
    # The jurisdictions the case had before each accepted handoff, oldest first: where it stood in a region
    # it has left (an alert about it there goes to the office that handled it).
    earlier_jurisdictions: tuple[str, ...] = ()


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 February falls on 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def fold(facts: CaseFacts | None, event: Envelope) -> CaseFacts:
    """The facts after ``event``; a copy of an event folded before (a redelivery, a late resend) changes
    nothing. Raises ``contracts.chain.ChainFault`` for an event that forks the case's chain or skips seqs."""
    current = facts or CaseFacts(case_id=event.case_id, jurisdiction=event.jurisdiction)
    if len(current.hashes) == current.last_seq:
        if step_against(current.hashes, event.seq, event.prev_hash, event.hash) is Step.DUPLICATE:
            return current
        current = replace(current, last_seq=event.seq, hashes=(*current.hashes, event.hash))
    elif event.seq <= current.last_seq:
        return current
    else:
        current = replace(current, last_seq=event.seq)
    if isinstance(event, ClueReported):
        clue = event.payload  # the reporter (sealed) is never read
        return replace(
            current,
            subject_name=clue.subject.name,
            subject_kind=clue.subject.kind.value,
            sector=clue.sector,
            estimated_amount_yuan=clue.estimated_amount_yuan,
            participants=clue.participants,
        )
    if isinstance(event, CaseAssessed):
        return replace(
            current,
            grade=event.payload.grade.value,
            key_case=current.key_case or event.payload.key_case,
            key_case_reasons=_together(event.payload.key_case_reasons, current.key_case_reasons),
            responsible_department=event.payload.responsible_department,
            sector=event.payload.sector or current.sector,
            # The case's figures are triage's (its clue's, plus linked clues', less those split off).
            participants=event.payload.participants,
            estimated_amount_yuan=event.payload.estimated_amount_yuan,
        )
    if event.type == "reclassified":
        sector = getattr(getattr(event, "payload", None), "sector", None)
        return replace(current, sector=sector) if isinstance(sector, str) else current
    if isinstance(event, CaseEscalated) and event.payload.target == EscalationTarget.POLICE:
        return replace(current, police_transferred_on=event.occurred_at.date())
    if isinstance(event, CaseClosed) or event.type in ("written-off", "merged"):
        return replace(current, closed=True)
    if event.type == "reopened":
        return replace(current, closed=False)
    if event.type == "handoff-accepted":
        target = getattr(getattr(event, "payload", None), "to_jurisdiction", None)
        if not isinstance(target, str) or target == current.jurisdiction:
            return current
        earlier = (*current.earlier_jurisdictions, current.jurisdiction)
        return replace(current, jurisdiction=target, earlier_jurisdictions=earlier)
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
        reasons = getattr(payload, "reasons", None) or []
        changes: dict[str, object] = {
            "key_case": True,
            "key_case_reasons": _together(current.key_case_reasons, [str(r) for r in reasons]),
        }
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


def _together(first: Iterable[str], then: Iterable[str]) -> tuple[str, ...]:
    """Both lists of reasons as one, each reason once, where it first stood."""
    return tuple(dict.fromkeys([*first, *then]))


DATE_FIELDS = (
    "police_transferred_on",
    "criminal_filed_on",
    "trial_and_return_by",
    "supervision_from",
    "clearance_by",
)


def facts_document(facts: CaseFacts) -> dict[str, object]:
    """The facts as JSON (kept with a routed event, so its notices can be written again on a resend)."""
    document: dict[str, object] = {**asdict(facts), "case_id": str(facts.case_id)}
    del document["hashes"]  # the chain is notify's bookkeeping, not what a notice says
    document["earlier_jurisdictions"] = list(facts.earlier_jurisdictions)
    document["key_case_reasons"] = list(facts.key_case_reasons)
    for name in DATE_FIELDS:
        value = getattr(facts, name)
        document[name] = value.isoformat() if value is not None else None
    return document


def facts_from_document(document: dict[str, object]) -> CaseFacts:
    values = {k: v for k, v in document.items() if k in CaseFacts.__dataclass_fields__}
    values["case_id"] = uuid.UUID(str(values["case_id"]))
    for name in ("earlier_jurisdictions", "key_case_reasons"):
        listed = values.get(name)
        if isinstance(listed, list):
            values[name] = tuple(str(c) for c in listed)
    for name in DATE_FIELDS:
        if isinstance(values.get(name), str):
            values[name] = date.fromisoformat(str(values[name]))
    return CaseFacts(**values)  # type: ignore[arg-type]
