"""The fold of a case's events into its ledger row, and the chain rule every applied event must meet.

A case's ledger row is a pure function of its events in seq order. Before an event is folded,
``chain_step`` decides whether it continues the case's chain (apply it), repeats an event already applied
(skip it: at-least-once delivery and republished outbox rows make that harmless), or breaks the chain
(``ChainBroken``, which the consumer turns into a dead letter with the reason).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any

from contracts.chain import START, ChainFault, Head, Step
from contracts.chain import chain_step as contracts_chain_step
from contracts.envelope import Envelope
from contracts.events import (
    CaseAssessed,
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    CaseMerged,
    CaseReclassified,
    CaseReopened,
    CaseWrittenOff,
    ClueLinked,
    ClueReported,
    HandoffAccepted,
    HandoffRequested,
    HandoffReturned,
    KeyCaseFlagged,
    MeasureRecorded,
    PoliceAccepted,
    PoliceReturned,
    RewardGranted,
)
from contracts.vocabulary import CaseStatus, ClueSource, Determination, EscalationTarget, Grade, Outcome
from services.reporting.domain.handoffs import Handoff

# The grade_counts bucket of a case that has not been assessed yet.
UNGRADED = "ungraded"
# Ledger columns an event sets, by name.
Changes = dict[str, Any]


@dataclass(frozen=True)
class LedgerState:
    """One case as the dynamic management ledger (动态管理台账) shows it after its events up to last_seq."""

    case_id: uuid.UUID
    jurisdiction: str
    status: CaseStatus
    source: ClueSource
    subject_name: str
    credit_code: str | None
    sector: str | None
    estimated_amount_yuan: int | None
    participants: int | None
    grade: Grade | None
    score: int | None
    key_case: bool
    determination: Determination | None
    outcome: Outcome | None
    recovered_amount_yuan: int
    escalations: int
    reported_at: datetime
    updated_at: datetime
    last_seq: int
    last_hash: str
    # Columns the annex tables need (see docs/reporting.md); timestamps are when the fact occurred.
    department: str | None = None
    regions_involved: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    measures: tuple[str, ...] = ()
    key_case_reasons: tuple[str, ...] = ()
    determined_at: datetime | None = None
    transferred_to_police: bool = False
    police_jurisdiction: str | None = None
    transferred_at: datetime | None = None
    police_accepted_at: datetime | None = None
    police_case_number: str | None = None
    closed_at: datetime | None = None
    written_off: bool = False
    reopened: int = 0
    rewards_yuan: int = 0
    linked_clues: int = 0
    merged_into: str | None = None
    supervising_leader: str | None = None
    # Every jurisdiction that held the case, first to last: a district that handed it over still reads it.
    held_by: tuple[str, ...] = ()
    # The handoff waiting for its answer (any), and the last one accepted between two regions (跨区域移交).
    handoff_pending: Handoff | None = None
    handoff_across_regions: Handoff | None = None

    @property
    def grade_bucket(self) -> tuple[str, str]:
        """The (jurisdiction, grade) cell of the grade statistics this case counts in."""
        return (self.jurisdiction, self.grade.value if self.grade is not None else UNGRADED)


_FIELDS = frozenset(f.name for f in fields(LedgerState))
# Every column a new row does not name takes its default (all immutable: None, False, 0, empty tuples).
_DEFAULTS = {f.name: f.default for f in fields(LedgerState) if f.default is not MISSING}
_REQUIRED = _FIELDS - _DEFAULTS.keys()


class ChainBroken(Exception):
    """An event that does not continue its case's hash chain; the message names the rule it breaks."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def chain_step(state: LedgerState | None, event: Envelope, hash_at_seq: str | None = None) -> Step:
    """Decide whether ``event`` continues the chain of ``state`` (``contracts.chain.chain_step``), and
    that a case starts with its clue.

    ``hash_at_seq`` is the hash already recorded for ``event.seq`` when that seq lies before the case's
    last one (the caller looks it up in the history); a repeat is recognised only by an identical hash.
    """
    head = START if state is None else Head(state.last_seq, state.last_hash)
    try:
        step = contracts_chain_step(head, event.seq, event.prev_hash, event.hash, hash_at_seq)
    except ChainFault as exc:
        raise ChainBroken(f"case {event.case_id} {exc.reason}") from None
    if step is Step.APPLY and state is None and not isinstance(event, ClueReported):
        raise ChainBroken(f"case {event.case_id} starts with {event.type}; a case starts with clue-reported")
    return step


def fold(state: LedgerState | None, event: Envelope) -> LedgerState:
    """The ledger row after ``event``; call only when ``chain_step`` answered ``Step.APPLY``."""
    if state is None:
        if not isinstance(event, ClueReported):
            raise ChainBroken(
                f"case {event.case_id} starts with {event.type}; a case starts with clue-reported"
            )
        clue = event.payload
        return _created(
            case_id=event.case_id,
            jurisdiction=event.jurisdiction,
            status=CaseStatus.REPORTED,
            source=clue.source,
            subject_name=clue.subject.name,
            credit_code=clue.subject.credit_code,
            sector=clue.sector,
            estimated_amount_yuan=clue.estimated_amount_yuan,
            participants=clue.participants,
            grade=None,
            score=None,
            key_case=False,
            determination=None,
            outcome=None,
            recovered_amount_yuan=0,
            escalations=0,
            reported_at=event.recorded_at,
            updated_at=event.recorded_at,
            last_seq=event.seq,
            last_hash=event.hash,
            regions_involved=tuple(clue.regions_involved),
            flags=tuple(flag.value for flag in clue.flags),
            held_by=(event.jurisdiction,),
        )
    if isinstance(event, ClueReported):
        raise ChainBroken(f"case {event.case_id} seq {event.seq} reports a clue again; only seq 1 may")
    # The case's jurisdiction is the one its latest event was written for (a handoff moves it, and the
    # event's own changes win). The row is copied once per event.
    moved: Changes = {
        "jurisdiction": event.jurisdiction,
        "updated_at": event.recorded_at,
        "last_seq": event.seq,
        "last_hash": event.hash,
    }
    return _copied(state, {**moved, **_handling_changes(state, event)})


def _created(**columns: Any) -> LedgerState:
    """``LedgerState(**columns)``, several times cheaper (as ``_copied`` is for a copy): the frozen
    dataclass's ``__init__`` sets its forty fields one by one through ``object.__setattr__``."""
    if columns.keys() - _FIELDS or _REQUIRED - columns.keys():
        return LedgerState(**columns)  # raises the TypeError that names the field
    row = object.__new__(LedgerState)
    row.__dict__.update(_DEFAULTS)
    row.__dict__.update(columns)
    return row


def _copied(state: LedgerState, changes: Changes) -> LedgerState:
    """``dataclasses.replace(state, **changes)``, ten times cheaper: the row's fields copied as they are,
    then the changed ones set (replace checks and passes each of the forty fields to ``__init__``, which
    cost a rebuild more than the fold itself)."""
    unknown = changes.keys() - _FIELDS
    if unknown:
        raise TypeError(f"LedgerState has no field {sorted(unknown)[0]!r}")
    row = object.__new__(LedgerState)
    row.__dict__.update(state.__dict__, **changes)
    return row


def _handling_changes(state: LedgerState, event: Envelope) -> Changes:
    """The columns an assessment, determination, escalation or closing changes; other types go on to
    ``workflow_changes``."""
    if isinstance(event, CaseAssessed):
        grade = event.payload
        return {
            "status": CaseStatus.ASSESSED if state.status is CaseStatus.REPORTED else state.status,
            "grade": grade.grade,
            "score": grade.score,
            "key_case": grade.key_case,
            "key_case_reasons": tuple(grade.key_case_reasons),
            "department": grade.responsible_department or state.department,
            # From assessed v2 on, the grade names the sector it graded (the reporter's or the suggested one).
            "sector": getattr(grade, "sector", None) or state.sector,
            # The case's figures are triage's: its clue's, plus linked clues', less those split off.
            "participants": grade.participants,
            "estimated_amount_yuan": grade.estimated_amount_yuan,
        }
    if isinstance(event, CaseDetermined):
        return {
            "status": CaseStatus.UNDER_DISPOSAL,
            "determination": event.payload.determination,
            "determined_at": event.occurred_at,
            "measures": _added(state.measures, event.payload.measures),
        }
    if isinstance(event, CaseEscalated):
        escalation = event.payload
        escalations = state.escalations + 1
        if escalation.target is EscalationTarget.POLICE:
            return {
                "escalations": escalations,
                "status": CaseStatus.TRANSFERRED,
                "transferred_to_police": True,
                "police_jurisdiction": escalation.target_jurisdiction,
                "transferred_at": state.transferred_at or event.occurred_at,
            }
        if escalation.target is EscalationTarget.OTHER_REGION:
            # A notice to another region leaves the handling where it is; the region is now involved.
            regions = _added(state.regions_involved, [escalation.target_jurisdiction])
            return {"escalations": escalations, "regions_involved": regions}
        return {"escalations": escalations, "status": CaseStatus.ESCALATED}
    if isinstance(event, CaseClosed):
        closing = event.payload
        # A handoff still waiting for its answer lapses with the closing (as with a write-off or merge).
        return {
            "status": CaseStatus.CLOSED,
            "outcome": closing.outcome,
            "recovered_amount_yuan": closing.recovered_amount_yuan,
            "closed_at": event.occurred_at,
            "handoff_pending": None,
        }
    return workflow_changes(state, event)


def _added(existing: tuple[str, ...], more: Iterable[object]) -> tuple[str, ...]:
    """``existing`` with the new codes of ``more`` appended (each code once, first occurrence kept)."""
    result = list(existing)
    for code in more:
        text = str(getattr(code, "value", code)) if code is not None else ""
        if text and text not in result:
            result.append(text)
    return tuple(result)


def workflow_changes(state: LedgerState, event: Envelope) -> Changes:
    """The columns the disposal-workflow events triage writes change (measures, police, write-off, reopen,
    merge, rewards…).

    Any other type (referral bundles, splits, handoff requests, types added later) is history only: it
    advances the chain and changes no other column.
    """
    if isinstance(event, MeasureRecorded):
        return {"measures": _added(state.measures, [event.payload.measure])}
    if isinstance(event, KeyCaseFlagged):
        flag = event.payload
        return {
            "key_case": True,
            "key_case_reasons": _added(state.key_case_reasons, flag.reasons),
            "supervising_leader": flag.supervising_leader,
        }
    if isinstance(event, PoliceAccepted):
        accepted = event.payload
        return {
            "status": CaseStatus.TRANSFERRED,
            "transferred_to_police": True,
            "police_jurisdiction": accepted.police_jurisdiction,
            "transferred_at": state.transferred_at or accepted.accepted_at,
            "police_accepted_at": accepted.accepted_at,
            "police_case_number": accepted.police_case_number,
        }
    if isinstance(event, PoliceReturned):
        # Returned by the police (退回): back with the office, no longer a case the police hold.
        return {"status": CaseStatus.UNDER_DISPOSAL, "transferred_to_police": False}
    if isinstance(event, CaseWrittenOff):
        off = event.payload
        return {
            "status": CaseStatus.WRITTEN_OFF,
            "outcome": off.outcome,
            "written_off": True,
            "closed_at": event.occurred_at,
            "recovered_amount_yuan": off.recovered_amount_yuan,
            "handoff_pending": None,
        }
    if isinstance(event, CaseReopened):
        return {
            "status": CaseStatus.UNDER_DISPOSAL,
            "reopened": state.reopened + 1,
            "closed_at": None,
            "written_off": False,
            "merged_into": None,
        }
    if isinstance(event, ClueLinked):
        return {"linked_clues": state.linked_clues + 1}
    if isinstance(event, CaseMerged):
        return {
            "status": CaseStatus.MERGED,
            "outcome": Outcome.MERGED,
            "merged_into": str(event.payload.into_case_id),
            "closed_at": event.occurred_at,
            "handoff_pending": None,
        }
    if isinstance(event, HandoffRequested):
        # Offered, not yet taken over: the case stays where it is until the handoff is accepted.
        return {"jurisdiction": event.payload.from_jurisdiction, "handoff_pending": Handoff.of(event)}
    if isinstance(event, HandoffAccepted):
        taken = event.payload
        held = _added(state.held_by, [taken.from_jurisdiction, taken.to_jurisdiction])
        changes: Changes = {"jurisdiction": taken.to_jurisdiction, "held_by": held, "handoff_pending": None}
        moved = Handoff.of(event)
        if moved.across_regions:
            changes["handoff_across_regions"] = moved
        return changes
    if isinstance(event, HandoffReturned):
        # Declined: the case stays with the office that offered it, whoever wrote the event; a case handed
        # between regions before reads as it did before the offer.
        return {"jurisdiction": event.payload.from_jurisdiction, "handoff_pending": None}
    if isinstance(event, CaseReclassified):
        # An officer's classification replaces the clue's sector; the grade that follows names it too.
        return {"sector": event.payload.sector}
    if isinstance(event, RewardGranted):
        return {"rewards_yuan": state.rewards_yuan + event.payload.amount_yuan}
    return {}


def grade_changes(before: LedgerState | None, after: LedgerState) -> Counter[tuple[str, str]]:
    """How the (jurisdiction, grade) counts change when a case goes from ``before`` to ``after``.

    Applied as increments, so each folded event moves the counts exactly once.
    """
    changes: Counter[tuple[str, str]] = Counter()
    before_cell = before.grade_bucket if before is not None else None
    after_cell = after.grade_bucket
    if before_cell != after_cell:
        if before_cell is not None:
            changes[before_cell] = -1
        changes[after_cell] = 1
    return changes
