"""The fold that advances a case (``state.CaseState``) event by event along the hash chain.

The fold trusts the log for what happened (an event that is in the chain is a fact, even one an officer
could no longer request today) and refuses only what breaks the chain (``contracts.chain``: a fork, a gap),
an event of another case, or a case that does not start with its clue; a copy of any event already folded
changes nothing.
The bytes themselves (hash over canonical JSON) are checked where they are read, before the fold.

What each event type changes is one small function, found by the event's type in ``APPLY``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
    ClueReportedPayload,
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
from contracts.vocabulary import CaseStatus, EscalationTarget
from services.triage.domain.errors import OutOfChain
from services.triage.domain.state import (
    CaseState,
    ClueFacts,
    Escalation,
    KeyCaseFlag,
    LinkedClue,
    PendingHandoff,
    PoliceTransfer,
    RegionReporter,
)


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
        raise OutOfChain(f"case {state.case_id}: {exc.reason}", exc.fault) from None
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
    apply = APPLY.get(type(event))
    # A type this fold does not project is history: the chain still advanced above.
    return chained if apply is None else apply(chained, event)


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
        clue=clue_facts(clue),
    )


def clue_facts(clue: ClueReportedPayload) -> ClueFacts:
    """What a case keeps of the clue that starts it."""
    return ClueFacts(
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
    )


def _second_clue(state: CaseState, event: ClueReported) -> CaseState:
    raise OutOfChain(f"case {state.case_id}: a second clue-reported at seq {event.seq}")


# Grading and handling.


def _assessed(state: CaseState, event: CaseAssessed) -> CaseState:
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
            "key_case_reasons": tuple(dict.fromkeys([*assessed.key_case_reasons, *state.key_case_reasons])),
            "responsible_department": assessed.responsible_department,
            "assessed_linked_clues": state.clue.linked_clues,
            "assessed_classifications": state.classifications,
            "assessed_handoffs": state.handoffs_accepted,
        }
    )


def _reclassified(state: CaseState, event: CaseReclassified) -> CaseState:
    classified = event.payload
    clue = state.clue.model_copy(
        update={
            "sector": classified.sector,
            "behaviours": tuple(classified.behaviours),
            "classified_by_officer": True,
        }
    )
    return state.model_copy(update={"clue": clue, "classifications": state.classifications + 1})


def _determined(state: CaseState, event: CaseDetermined) -> CaseState:
    return state.model_copy(
        update={
            "status": CaseStatus.UNDER_DISPOSAL,
            "determination": event.payload.determination,
            "determination_basis": event.payload.basis,
            "determined_seq": event.seq,
        }
    )


def _escalated(state: CaseState, event: CaseEscalated) -> CaseState:
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


def _measure_recorded(state: CaseState, event: MeasureRecorded) -> CaseState:
    status = CaseStatus.UNDER_DISPOSAL if state.status == CaseStatus.ASSESSED else state.status
    return state.model_copy(update={"status": status, "measures": (*state.measures, event.payload.measure)})


def _closed(state: CaseState, event: CaseClosed) -> CaseState:
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


def _written_off(state: CaseState, event: CaseWrittenOff) -> CaseState:
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


def _reopened(state: CaseState, event: CaseReopened) -> CaseState:
    status = CaseStatus.UNDER_DISPOSAL if state.grade is not None else CaseStatus.REPORTED
    return state.model_copy(
        update={"status": status, "reopened": state.reopened + 1, "merged_into": None, "outcome": None}
    )


def _key_case_flagged(state: CaseState, event: KeyCaseFlagged) -> CaseState:
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


def _rewarded(state: CaseState, event: RewardGranted) -> CaseState:
    return state.model_copy(
        update={"reward_granted_yuan": state.reward_granted_yuan + event.payload.amount_yuan}
    )


# The police (each answer changes nothing on a case never transferred).


def _referral_packaged(state: CaseState, event: ReferralPackaged) -> CaseState:
    if state.police is None:
        return state
    referral = state.police.model_copy(
        update={"referral_seq": event.seq, "manifest_sha256": event.payload.manifest_sha256}
    )
    return state.model_copy(update={"police": referral})


def _police_accepted(state: CaseState, event: PoliceAccepted) -> CaseState:
    if state.police is None:
        return state
    accepted = state.police.model_copy(
        update={
            "accepted_at": event.payload.accepted_at,
            "police_case_number": event.payload.police_case_number,
        }
    )
    return state.model_copy(update={"police": accepted})


def _police_returned(state: CaseState, event: PoliceReturned) -> CaseState:
    if state.police is None:
        return state
    back = CaseStatus.UNDER_DISPOSAL if state.status == CaseStatus.TRANSFERRED else state.status
    return state.model_copy(
        update={"status": back, "police": state.police.model_copy(update={"returned": True})}
    )


# Linked clues, merge and split.


def _sum(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else a + b


def _less(total: int | None, part: int | None) -> int | None:
    """``total`` without ``part`` (a split clue's figure); a figure a clue did not give takes nothing."""
    return total if total is None or part is None else max(total - part, 0)


def _clue_linked(state: CaseState, event: ClueLinked) -> CaseState:
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


def _merged(state: CaseState, event: CaseMerged) -> CaseState:
    return state.model_copy(
        update={"status": CaseStatus.MERGED, "merged_into": event.payload.into_case_id, "handoff": None}
    )


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


# Handoff to another jurisdiction.


def _handoff_requested(state: CaseState, event: HandoffRequested) -> CaseState:
    asked = event.payload
    pending = PendingHandoff(
        seq=event.seq,
        from_jurisdiction=asked.from_jurisdiction,
        to_jurisdiction=asked.to_jurisdiction,
        from_region=asked.from_region,
        to_region=asked.to_region,
    )
    sealed = asked.reporter
    found = state.region_reporter if sealed is None else RegionReporter(seq=event.seq, region=sealed.region)
    return state.model_copy(update={"handoff": pending, "region_reporter": found})


def _handoff_accepted(state: CaseState, event: HandoffAccepted) -> CaseState:
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


def _handoff_returned(state: CaseState, event: HandoffReturned) -> CaseState:
    return state.model_copy(update={"handoff": None})


# What each event type changes, by type (events are plain Envelope subclasses, matched exactly).
APPLY: dict[type[Envelope], Callable[[CaseState, Any], CaseState]] = {
    ClueReported: _second_clue,
    CaseAssessed: _assessed,
    CaseReclassified: _reclassified,
    CaseDetermined: _determined,
    CaseEscalated: _escalated,
    MeasureRecorded: _measure_recorded,
    CaseClosed: _closed,
    CaseWrittenOff: _written_off,
    CaseReopened: _reopened,
    KeyCaseFlagged: _key_case_flagged,
    RewardGranted: _rewarded,
    ReferralPackaged: _referral_packaged,
    PoliceAccepted: _police_accepted,
    PoliceReturned: _police_returned,
    ClueLinked: _clue_linked,
    CaseMerged: _merged,
    CaseSplit: _split_off,
    HandoffRequested: _handoff_requested,
    HandoffAccepted: _handoff_accepted,
    HandoffReturned: _handoff_returned,
}
