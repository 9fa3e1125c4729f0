"""A case as triage sees it, and the fold that advances it event by event along the hash chain.

The fold trusts the log for what happened (an event that is in the chain is a fact, even one an officer
could no longer request today) and refuses only what breaks the chain (``contracts.chain``: a fork, a gap),
an event of another case, or a case that does not start with its clue; a copy of any event already folded
changes nothing.
The bytes themselves (hash over canonical JSON) are checked where they are read, before the fold.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from contracts.chain import ChainFault, Step, step_against
from contracts.envelope import GENESIS_HASH, Envelope
from contracts.events import (
    CaseAssessed,
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    CaseMerged,
    CaseReclassified,
    CaseReopened,
    CaseSplit,
    CaseWrittenOff,
    ClueLinked,
    ClueReported,
    EvidenceRef,
    HandoffAccepted,
    HandoffRequested,
    HandoffReturned,
    KeyCaseFlagged,
    MeasureRecorded,
    PoliceAccepted,
    PoliceReturned,
    ReferralPackaged,
    RewardGranted,
)
from contracts.vocabulary import (
    CaseStatus,
    ClueSource,
    Determination,
    EscalationLevel,
    EscalationTarget,
    Grade,
    Measure,
    Outcome,
    RiskFlag,
)
from services.triage.domain.errors import OutOfChain


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClueFacts(_Frozen):
    """What the clue said that grading reads: sector, 涉众规模, 风险敞口, flags and regions involved.

    ``participants`` and ``estimated_amount_yuan`` add up the clues linked to the case; ``linked_clues``
    counts them (a subject reported again and again is hotter).
    """

    sector: str | None = None
    participants: int | None = None
    estimated_amount_yuan: int | None = None
    flags: tuple[RiskFlag, ...] = ()
    regions_involved: tuple[str, ...] = ()
    source: ClueSource | None = None
    description: str | None = None
    behaviours: tuple[str, ...] = ()
    subject_name: str | None = None
    credit_code: str | None = None
    address: str | None = None
    has_reporter: bool = False
    linked_clues: int = 0
    classified_by_officer: bool = False


class Escalation(_Frozen):
    """One escalation recorded on the case; ``rule`` is None when an officer escalated. ``level`` is the
    level of the office a ``lead_office`` escalation went up to (None: the district lead office, as every
    escalation before levels were recorded)."""

    seq: int
    target: EscalationTarget
    target_jurisdiction: str
    rule: str | None = None
    level: EscalationLevel | None = None
    from_jurisdiction: str | None = None


class PoliceTransfer(_Frozen):
    """The case's transfer to the police (移送公安): the referral bundle, then acceptance or return."""

    seq: int
    police_jurisdiction: str
    summary: str
    rule: str | None = None
    referral_seq: int | None = None
    manifest_sha256: str | None = None
    accepted_at: datetime | None = None
    police_case_number: str | None = None
    returned: bool = False


class KeyCaseFlag(_Frozen):
    """The latest key-case flag: who supervises (a role title) and the deadlines that apply."""

    seq: int
    supervising_leader: str
    reasons: tuple[str, ...]
    criminal_filed_on: date | None = None
    trial_and_return_by: date | None = None
    supervision_from: date | None = None
    clearance_by: date | None = None


class LinkedClue(_Frozen):
    """A further clue about this case's subject, reported as its own case and linked here: what it added to
    the case's figures (taken off again when it is split off) and its evidence."""

    seq: int
    clue_case_id: uuid.UUID
    clue_event_id: uuid.UUID
    basis: str
    recorded_at: datetime
    split: bool = False
    participants: int | None = None
    estimated_amount_yuan: int | None = None
    evidence: tuple[EvidenceRef, ...] = ()


class PendingHandoff(_Frozen):
    """A handoff to another jurisdiction waiting for its answer."""

    seq: int
    from_jurisdiction: str
    to_jurisdiction: str
    from_region: str | None = None
    to_region: str | None = None


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
    clue_hash: str = GENESIS_HASH
    reported_at: datetime | None = None
    evidence: tuple[EvidenceRef, ...] = ()
    grade: Grade | None = None
    score: int | None = None
    rule_set: str | None = None
    assessed_linked_clues: int = 0
    # Officers' classifications folded so far, and how many of them the last grade saw.
    classifications: int = 0
    assessed_classifications: int = 0
    key_case: bool = False
    key_case_reasons: tuple[str, ...] = ()
    responsible_department: str | None = None
    determination: Determination | None = None
    determination_basis: str | None = None
    determined_seq: int | None = None
    outcome: Outcome | None = None
    closed_seq: int | None = None
    recovered_amount_yuan: int = 0
    escalations: tuple[Escalation, ...] = ()
    # The office an escalation to the lead office left the case waiting on, and its level (None: the
    # district lead office). Only while the status is ``escalated``.
    escalated_to: str | None = None
    escalation_level: EscalationLevel | None = None
    measures: tuple[Measure, ...] = ()
    police: PoliceTransfer | None = None
    key_case_flag: KeyCaseFlag | None = None
    linked: tuple[LinkedClue, ...] = ()
    last_clue_at: datetime | None = None
    merged_into: uuid.UUID | None = None
    handoff: PendingHandoff | None = None
    handoffs_accepted: int = 0
    # Accepted handoffs the last grade saw: a case taken over is routed (and graded) again where it is now.
    assessed_handoffs: int = 0
    # Every jurisdiction that held the case, first to last: each may still read its trail.
    held_by: tuple[str, ...] = ()
    reopened: int = 0
    written_off_at: datetime | None = None
    reward_granted_yuan: int = 0
    hashes: tuple[str, ...] = ()

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

    @property
    def is_open(self) -> bool:
        """Still being handled: neither closed, written off nor merged into another case."""
        return self.status not in FINAL

    @property
    def transferred_to_police(self) -> bool:
        """The police hold the case (transferred and not returned): they may read it."""
        return self.police is not None and not self.police.returned

    @property
    def clue_evidence(self) -> tuple[EvidenceRef, ...]:
        """The evidence of the case's clue and of every clue linked to it and not split off, each piece
        once."""
        pieces = [*self.evidence, *(e for link in self.linked if not link.split for e in link.evidence)]
        seen: set[str] = set()
        once = []
        for piece in pieces:
            if piece.sha256 not in seen:
                seen.add(piece.sha256)
                once.append(piece)
        return tuple(once)


# Statuses in which a case takes no further handling until it is reopened.
FINAL = frozenset({CaseStatus.CLOSED, CaseStatus.WRITTEN_OFF, CaseStatus.MERGED})


def fold(state: CaseState | None, event: Envelope) -> CaseState:
    """The case state after ``event``. A copy of an event already folded changes nothing.

    Raises ``OutOfChain`` when the event does not follow the state's last event.
    """
    if state is None:
        return _start(event)
    if event.case_id != state.case_id:
        raise OutOfChain(f"event {event.event_id} belongs to case {event.case_id}, not {state.case_id}")
    try:
        step = step_against(state.hashes, event.seq, event.prev_hash, event.hash)
    except ChainFault as exc:
        raise OutOfChain(f"case {state.case_id}: {exc.reason}") from None
    if step is Step.DUPLICATE:
        return state  # an event already folded, delivered again (at-least-once) or triage's own coming back
    chained = state.model_copy(
        update={
            "last_seq": event.seq,
            "last_hash": event.hash,
            "last_event_id": event.event_id,
            "jurisdiction": event.jurisdiction,
            "hashes": (*state.hashes, event.hash),
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
        clue_hash=event.hash,
        reported_at=event.recorded_at,
        last_clue_at=event.recorded_at,
        evidence=tuple(clue.evidence),
        hashes=(event.hash,),
        held_by=(event.jurisdiction,),
        clue=ClueFacts(
            sector=clue.sector,
            participants=clue.participants,
            estimated_amount_yuan=clue.estimated_amount_yuan,
            flags=tuple(clue.flags),
            regions_involved=tuple(clue.regions_involved),
            source=clue.source,
            description=clue.description,
            behaviours=tuple(clue.behaviours),
            subject_name=clue.subject.name,
            credit_code=clue.subject.credit_code,
            address=clue.subject.address,
            has_reporter=clue.reporter is not None,
        ),
    )


def _sum(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def _less(total: int | None, part: int | None) -> int | None:
    """``total`` without ``part`` (a split clue's figure); a figure a clue did not give takes nothing."""
    return total if total is None or part is None else max(total - part, 0)


def _split_off(state: CaseState, event: CaseSplit) -> CaseState:
    """The case without the clues split off: their participants, amount and heat are taken off its figures,
    and the last clue about the subject is the latest of those that stay."""
    moved_ids = set(event.payload.clue_event_ids)
    moved = [e for e in state.linked if e.clue_event_id in moved_ids and not e.split]
    participants, amount = state.clue.participants, state.clue.estimated_amount_yuan
    for link in moved:
        participants = _less(participants, link.participants)
        amount = _less(amount, link.estimated_amount_yuan)
    clue = state.clue.model_copy(
        update={
            "participants": participants,
            "estimated_amount_yuan": amount,
            "linked_clues": max(state.clue.linked_clues - len(moved), 0),
        }
    )
    linked = tuple(e.model_copy(update={"split": True}) if e in moved else e for e in state.linked)
    clue_dates = [d for d in (state.reported_at, *(e.recorded_at for e in linked if not e.split)) if d]
    return state.model_copy(
        update={"clue": clue, "linked": linked, "last_clue_at": max(clue_dates, default=None)}
    )


def _apply(state: CaseState, event: Envelope) -> CaseState:
    if isinstance(event, CaseAssessed):
        assessed = event.payload
        return state.model_copy(
            update={
                # A re-assessment (after a linked clue) does not move a case back in its handling.
                "status": CaseStatus.ASSESSED if state.status == CaseStatus.REPORTED else state.status,
                "grade": assessed.grade,
                "score": assessed.score,
                "rule_set": assessed.rule_set,
                # An officer's key-case flag outlives a re-assessment that would not flag it.
                "key_case": assessed.key_case or state.key_case_flag is not None,
                "key_case_reasons": tuple(
                    dict.fromkeys([*assessed.key_case_reasons, *state.key_case_reasons])
                ),
                "responsible_department": assessed.responsible_department,
                "assessed_linked_clues": state.clue.linked_clues,
                "assessed_classifications": state.classifications,
                "assessed_handoffs": state.handoffs_accepted,
            }
        )
    if isinstance(event, CaseDetermined):
        return state.model_copy(
            update={
                "status": CaseStatus.UNDER_DISPOSAL,
                "determination": event.payload.determination,
                "determination_basis": event.payload.basis,
                "determined_seq": event.seq,
            }
        )
    if isinstance(event, CaseEscalated):
        escalated = event.payload
        escalation = Escalation(
            seq=event.seq,
            target=escalated.target,
            target_jurisdiction=escalated.target_jurisdiction,
            rule=escalated.rule,
            level=escalated.level,
            from_jurisdiction=escalated.from_jurisdiction,
        )
        update: dict[str, object] = {"escalations": (*state.escalations, escalation)}
        if escalated.target == EscalationTarget.POLICE:
            update["status"] = CaseStatus.TRANSFERRED
            update["police"] = PoliceTransfer(
                seq=event.seq,
                police_jurisdiction=escalated.target_jurisdiction,
                summary=escalated.reason,
                rule=escalated.rule,
            )
        elif escalated.target == EscalationTarget.LEAD_OFFICE and state.is_open:
            # The case now waits on that office; a notice to another region leaves the handling where it is.
            update["status"] = CaseStatus.ESCALATED
            update["escalated_to"] = escalated.target_jurisdiction
            update["escalation_level"] = escalated.level
        return state.model_copy(update=update)
    if isinstance(event, CaseClosed):
        closing = event.payload
        # A handoff still waiting for its answer lapses with the closing (as with a write-off or merge).
        return state.model_copy(
            update={
                "status": CaseStatus.CLOSED,
                "outcome": closing.outcome,
                "recovered_amount_yuan": closing.recovered_amount_yuan,
                "closed_seq": event.seq,
                "handoff": None,
            }
        )
    if isinstance(event, MeasureRecorded):
        status = CaseStatus.UNDER_DISPOSAL if state.status == CaseStatus.ASSESSED else state.status
        return state.model_copy(
            update={"status": status, "measures": (*state.measures, event.payload.measure)}
        )
    if isinstance(event, KeyCaseFlagged):
        flag = event.payload
        return state.model_copy(
            update={
                "key_case": True,
                "key_case_reasons": tuple(dict.fromkeys([*state.key_case_reasons, *flag.reasons])),
                "key_case_flag": KeyCaseFlag(
                    seq=event.seq,
                    supervising_leader=flag.supervising_leader,
                    reasons=tuple(flag.reasons),
                    criminal_filed_on=flag.criminal_filed_on,
                    trial_and_return_by=flag.trial_and_return_by,
                    supervision_from=flag.supervision_from,
                    clearance_by=flag.clearance_by,
                ),
            }
        )
    if isinstance(event, ReferralPackaged) and state.police is not None:
        referral = state.police.model_copy(
            update={"referral_seq": event.seq, "manifest_sha256": event.payload.manifest_sha256}
        )
        return state.model_copy(update={"police": referral})
    if isinstance(event, PoliceAccepted) and state.police is not None:
        accepted = state.police.model_copy(
            update={
                "accepted_at": event.payload.accepted_at,
                "police_case_number": event.payload.police_case_number,
            }
        )
        return state.model_copy(update={"police": accepted})
    if isinstance(event, PoliceReturned) and state.police is not None:
        back: CaseStatus = (
            CaseStatus.UNDER_DISPOSAL if state.status == CaseStatus.TRANSFERRED else state.status
        )
        return state.model_copy(
            update={"status": back, "police": state.police.model_copy(update={"returned": True})}
        )
    if isinstance(event, CaseWrittenOff):
        written = event.payload
        return state.model_copy(
            update={
                "status": CaseStatus.WRITTEN_OFF,
                "outcome": written.outcome,
                "recovered_amount_yuan": written.recovered_amount_yuan,
                "written_off_at": event.occurred_at,
                "handoff": None,
            }
        )
    if isinstance(event, CaseReopened):
        status = CaseStatus.UNDER_DISPOSAL if state.grade is not None else CaseStatus.REPORTED
        return state.model_copy(
            update={"status": status, "reopened": state.reopened + 1, "merged_into": None, "outcome": None}
        )
    if isinstance(event, ClueLinked):
        linked = event.payload
        clue = state.clue.model_copy(
            update={
                "participants": _sum(state.clue.participants, linked.participants),
                "estimated_amount_yuan": _sum(state.clue.estimated_amount_yuan, linked.estimated_amount_yuan),
                "linked_clues": state.clue.linked_clues + 1,
            }
        )
        entry = LinkedClue(
            seq=event.seq,
            clue_case_id=linked.clue_case_id,
            clue_event_id=linked.clue_event_id,
            basis=linked.basis.value,
            recorded_at=event.recorded_at,
            participants=linked.participants,
            estimated_amount_yuan=linked.estimated_amount_yuan,
            evidence=tuple(linked.evidence),
        )
        return state.model_copy(
            update={"clue": clue, "linked": (*state.linked, entry), "last_clue_at": event.recorded_at}
        )
    if isinstance(event, CaseMerged):
        return state.model_copy(
            update={"status": CaseStatus.MERGED, "merged_into": event.payload.into_case_id, "handoff": None}
        )
    if isinstance(event, CaseSplit):
        return _split_off(state, event)
    if isinstance(event, HandoffRequested):
        asked = event.payload
        pending = PendingHandoff(
            seq=event.seq,
            from_jurisdiction=asked.from_jurisdiction,
            to_jurisdiction=asked.to_jurisdiction,
            from_region=asked.from_region,
            to_region=asked.to_region,
        )
        return state.model_copy(update={"handoff": pending})
    if isinstance(event, HandoffAccepted):
        # The envelope of the acceptance already carries the receiving jurisdiction (set by fold). An
        # escalation waits on the receiving district's lead office now, the one that accepted the case.
        taken = event.payload
        held = tuple(dict.fromkeys([*state.held_by, taken.from_jurisdiction, taken.to_jurisdiction]))
        return state.model_copy(
            update={
                "handoff": None,
                "handoffs_accepted": state.handoffs_accepted + 1,
                "held_by": held,
                "escalated_to": None,
                "escalation_level": None,
            }
        )
    if isinstance(event, HandoffReturned):
        return state.model_copy(update={"handoff": None})
    if isinstance(event, CaseReclassified):
        classified = event.payload
        clue = state.clue.model_copy(
            update={
                "sector": classified.sector,
                "behaviours": tuple(classified.behaviours),
                "classified_by_officer": True,
            }
        )
        return state.model_copy(update={"clue": clue, "classifications": state.classifications + 1})
    if isinstance(event, RewardGranted):
        return state.model_copy(
            update={"reward_granted_yuan": state.reward_granted_yuan + event.payload.amount_yuan}
        )
    if isinstance(event, ClueReported):
        raise OutOfChain(f"case {state.case_id}: a second clue-reported at seq {event.seq}")
    # A type this fold does not project is history: the chain still advanced above.
    return state
