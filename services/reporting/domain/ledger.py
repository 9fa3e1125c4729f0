"""The fold of a case's events into its ledger row, and the chain rule every applied event must meet.

A case's ledger row is a pure function of its events in seq order. Before an event is folded,
``chain_step`` decides whether it continues the case's chain (apply it), repeats an event already applied
(skip it: at-least-once delivery and republished outbox rows make that harmless), or breaks the chain
(``ChainBroken``, which the consumer turns into a dead letter with the reason).
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from contracts.envelope import GENESIS_HASH, Envelope
from contracts.events import CaseAssessed, CaseClosed, CaseDetermined, CaseEscalated, ClueReported
from contracts.vocabulary import CaseStatus, ClueSource, Determination, Grade, Outcome

# The grade_counts bucket of a case that has not been assessed yet.
UNGRADED = "ungraded"


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

    @property
    def grade_bucket(self) -> tuple[str, str]:
        """The (jurisdiction, grade) cell of the grade statistics this case counts in."""
        return (self.jurisdiction, self.grade.value if self.grade is not None else UNGRADED)


class ChainBroken(Exception):
    """An event that does not continue its case's hash chain; the message names the rule it breaks."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Step(Enum):
    """What to do with an incoming event: fold it, or skip it as a repeat of one already folded."""

    APPLY = "apply"
    DUPLICATE = "duplicate"


def chain_step(state: LedgerState | None, event: Envelope, hash_at_seq: str | None = None) -> Step:
    """Decide whether ``event`` continues the chain of ``state``.

    ``hash_at_seq`` is the hash already recorded for ``event.seq`` when that seq lies before the case's
    last one (the caller looks it up in the history); a repeat is recognised only by an identical hash.
    """
    case = event.case_id
    if state is None:
        if event.seq != 1:
            raise ChainBroken(
                f"case {case} is unknown, so seq {event.seq} cannot follow: its chain starts at seq 1"
            )
        if event.prev_hash != GENESIS_HASH:
            raise ChainBroken(f"case {case} seq 1 must have prev_hash GENESIS_HASH")
        if not isinstance(event, ClueReported):
            raise ChainBroken(f"case {case} starts with {event.type}; a case starts with clue-reported")
        return Step.APPLY
    if event.seq <= state.last_seq:
        known = state.last_hash if event.seq == state.last_seq else hash_at_seq
        if known == event.hash:
            return Step.DUPLICATE
        raise ChainBroken(f"case {case} seq {event.seq} was already recorded with a different hash")
    if event.seq != state.last_seq + 1:
        raise ChainBroken(
            f"case {case} seq {event.seq} follows seq {state.last_seq}: "
            f"events {state.last_seq + 1}..{event.seq - 1} are missing"
        )
    if event.prev_hash != state.last_hash:
        raise ChainBroken(
            f"case {case} seq {event.seq}: prev_hash does not match the hash of seq {state.last_seq}"
        )
    return Step.APPLY


def fold(state: LedgerState | None, event: Envelope) -> LedgerState:
    """The ledger row after ``event``; call only when ``chain_step`` answered ``Step.APPLY``."""
    if state is None:
        if not isinstance(event, ClueReported):
            raise ChainBroken(
                f"case {event.case_id} starts with {event.type}; a case starts with clue-reported"
            )
        clue = event.payload
        return LedgerState(
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
        )
    # The case's jurisdiction is the one its latest event was written for (a handoff moves it).
    moved = replace(
        state,
        jurisdiction=event.jurisdiction,
        updated_at=event.recorded_at,
        last_seq=event.seq,
        last_hash=event.hash,
    )
    if isinstance(event, CaseAssessed):
        grade = event.payload
        return replace(
            moved, status=CaseStatus.ASSESSED, grade=grade.grade, score=grade.score, key_case=grade.key_case
        )
    if isinstance(event, CaseDetermined):
        return replace(moved, status=CaseStatus.UNDER_DISPOSAL, determination=event.payload.determination)
    if isinstance(event, CaseEscalated):
        return replace(moved, status=CaseStatus.ESCALATED, escalations=state.escalations + 1)
    if isinstance(event, CaseClosed):
        closing = event.payload
        return replace(
            moved,
            status=CaseStatus.CLOSED,
            outcome=closing.outcome,
            recovered_amount_yuan=closing.recovered_amount_yuan,
        )
    if isinstance(event, ClueReported):
        raise ChainBroken(f"case {event.case_id} seq {event.seq} reports a clue again; only seq 1 may")
    # Event types the ledger does not show still advance the chain.
    return moved


def grade_changes(before: LedgerState | None, after: LedgerState) -> Counter[tuple[str, str]]:
    """How the (jurisdiction, grade) counts change when a case goes from ``before`` to ``after``.

    Applied as increments, so each folded event moves the counts exactly once.
    """
    changes: Counter[tuple[str, str]] = Counter()
    if before is not None:
        changes[before.grade_bucket] -= 1
    changes[after.grade_bucket] += 1
    return Counter({cell: n for cell, n in changes.items() if n != 0})
