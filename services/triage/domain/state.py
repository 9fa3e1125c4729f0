"""A case as triage sees it, and the fold that advances it event by event along the hash chain.

The fold trusts the log for what happened (an event that is in the chain is a fact, even one an officer
could no longer request today) and refuses only what breaks the chain: a wrong seq, a prev_hash that is not
the hash of the previous event, an event of another case, or a case that does not start with its clue.
The bytes themselves (hash over canonical JSON) are checked where they are read, before the fold.
"""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from contracts.envelope import GENESIS_HASH, Envelope
from contracts.events import CaseAssessed, CaseClosed, CaseDetermined, CaseEscalated, ClueReported
from contracts.vocabulary import CaseStatus, Determination, EscalationTarget, Grade, Outcome, RiskFlag
from services.triage.domain.errors import OutOfChain


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClueFacts(_Frozen):
    """What the clue said that grading reads: sector, 涉众规模, 风险敞口, flags and regions involved."""

    sector: str | None = None
    participants: int | None = None
    estimated_amount_yuan: int | None = None
    flags: tuple[RiskFlag, ...] = ()
    regions_involved: tuple[str, ...] = ()
    description: str | None = None
    behaviours: tuple[str, ...] = ()
    linked_clues: int = 0


class Escalation(_Frozen):
    """One escalation recorded on the case; ``rule`` is None when an officer escalated."""

    seq: int
    target: EscalationTarget
    target_jurisdiction: str
    rule: str | None = None


class CaseState(_Frozen):
    """Triage's state of one case: where it stands, its grade, and the end of its chain."""

    case_id: uuid.UUID
    status: CaseStatus
    jurisdiction: str
    last_seq: int
    last_hash: str
    last_event_id: uuid.UUID
    correlation_id: uuid.UUID
    clue_event_id: uuid.UUID
    clue_traceparent: str | None = None
    clue: ClueFacts
    grade: Grade | None = None
    score: int | None = None
    rule_set: str | None = None
    key_case: bool = False
    key_case_reasons: tuple[str, ...] = ()
    determination: Determination | None = None
    outcome: Outcome | None = None
    escalations: tuple[Escalation, ...] = ()

    def has_escalation(
        self, target: EscalationTarget, *, rule: str | None = None, target_jurisdiction: str | None = None
    ) -> bool:
        """True when the case went to ``target`` (by ``rule``, to ``target_jurisdiction``, when given)."""
        return any(
            e.target == target
            and (rule is None or e.rule == rule)
            and (target_jurisdiction is None or e.target_jurisdiction == target_jurisdiction)
            for e in self.escalations
        )


def fold(state: CaseState | None, event: Envelope) -> CaseState:
    """The case state after ``event``. A repeated identical last event changes nothing.

    Raises ``OutOfChain`` when the event does not follow the state's last event.
    """
    if state is None:
        return _start(event)
    if event.case_id != state.case_id:
        raise OutOfChain(f"event {event.event_id} belongs to case {event.case_id}, not {state.case_id}")
    if event.seq == state.last_seq and event.hash == state.last_hash:
        return state  # the same event delivered again (at-least-once)
    if event.seq != state.last_seq + 1:
        raise OutOfChain(f"case {state.case_id}: seq {event.seq} does not follow seq {state.last_seq}")
    if event.prev_hash != state.last_hash:
        raise OutOfChain(
            f"case {state.case_id}: prev_hash of seq {event.seq} is not the hash of seq {state.last_seq}"
        )
    chained = state.model_copy(
        update={
            "last_seq": event.seq,
            "last_hash": event.hash,
            "last_event_id": event.event_id,
            "jurisdiction": event.jurisdiction,
        }
    )
    return _apply(chained, event)


def fold_all(state: CaseState | None, events: list[Envelope]) -> CaseState | None:
    """Fold events in order (convenience for replay and tests)."""
    for event in events:
        state = fold(state, event)
    return state


def _start(event: Envelope) -> CaseState:
    if not isinstance(event, ClueReported):
        raise OutOfChain(f"case {event.case_id} starts with {event.type} seq {event.seq}, not clue-reported")
    if event.seq != 1 or event.prev_hash != GENESIS_HASH:
        raise OutOfChain(f"case {event.case_id}: its clue must be seq 1 with the genesis prev_hash")
    clue = event.payload
    return CaseState(
        case_id=event.case_id,
        status=CaseStatus.REPORTED,
        jurisdiction=event.jurisdiction,
        last_seq=event.seq,
        last_hash=event.hash,
        last_event_id=event.event_id,
        correlation_id=event.correlation_id,
        clue_event_id=event.event_id,
        clue_traceparent=event.traceparent,
        clue=ClueFacts(
            sector=clue.sector,
            participants=clue.participants,
            estimated_amount_yuan=clue.estimated_amount_yuan,
            flags=tuple(clue.flags),
            regions_involved=tuple(clue.regions_involved),
            description=clue.description,
            behaviours=tuple(clue.behaviours),
        ),
    )


def _apply(state: CaseState, event: Envelope) -> CaseState:
    if isinstance(event, CaseAssessed):
        assessed = event.payload
        return state.model_copy(
            update={
                "status": CaseStatus.ASSESSED,
                "grade": assessed.grade,
                "score": assessed.score,
                "rule_set": assessed.rule_set,
                "key_case": assessed.key_case,
                "key_case_reasons": tuple(assessed.key_case_reasons),
            }
        )
    if isinstance(event, CaseDetermined):
        return state.model_copy(
            update={"status": CaseStatus.UNDER_DISPOSAL, "determination": event.payload.determination}
        )
    if isinstance(event, CaseEscalated):
        escalated = event.payload
        escalation = Escalation(
            seq=event.seq,
            target=escalated.target,
            target_jurisdiction=escalated.target_jurisdiction,
            rule=escalated.rule,
        )
        return state.model_copy(
            update={"status": CaseStatus.ESCALATED, "escalations": (*state.escalations, escalation)}
        )
    if isinstance(event, CaseClosed):
        return state.model_copy(update={"status": CaseStatus.CLOSED, "outcome": event.payload.outcome})
    if isinstance(event, ClueReported):
        raise OutOfChain(f"case {state.case_id}: a second clue-reported at seq {event.seq}")
    # A type this fold does not project is history: the chain still advanced above.
    return state
