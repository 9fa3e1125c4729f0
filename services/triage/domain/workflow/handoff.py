"""Handoffs between districts (协商办理): the offer, and the receiving district's acceptance or return."""

from __future__ import annotations

from contracts.envelope import Actor
from contracts.events import (
    HandoffAccepted,
    HandoffAcceptedPayload,
    HandoffRequested,
    HandoffRequestedPayload,
    HandoffReturned,
    HandoffReturnedPayload,
)
from contracts.events.handoff import SealedForRegion
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.domain.workflow.transitions import require


def request_handoff(
    state: CaseState,
    actor: Actor,
    *,
    to_jurisdiction: str,
    from_district: str,
    to_district: str,
    reason: str,
    region: str,
    to_region: str | None = None,
    reporter: SealedForRegion | None = None,
) -> Decision:
    """Offer the case to another district (协商办理); it stays here until that district accepts. ``region``
    is this deployment's region; the receiving district's is ``to_region`` (default: the same region). To
    another region, the offer carries the reporter's identity sealed for that region (``reporter``), and
    the writing of the case passes to that region at once (``domain.regions``)."""
    require(state, "handoff")
    if state.handoff is not None:
        raise TransitionRefused(
            f"case {state.case_id} already waits for {state.handoff.to_jurisdiction} to answer a handoff "
            "(handoff-pending)",
            rule="handoff-pending",
        )
    if from_district == to_district:
        raise TransitionRefused(
            f"{to_jurisdiction} is in the case's own district {from_district}; a handoff goes to another "
            "district (handoff-other-district)",
            rule="handoff-other-district",
        )
    payload = HandoffRequestedPayload(
        from_jurisdiction=state.jurisdiction,
        to_jurisdiction=to_jurisdiction,
        from_region=region,
        to_region=to_region or region,
        reason=reason,
        reporter=reporter,
    )
    return Decision(HandoffRequested, payload, actor)


def answer_handoff(state: CaseState, actor: Actor, *, accept: bool, text: str | None) -> Decision:
    """The receiving district accepts (the case moves there, chain and all) or returns the handoff."""
    require(state, "handoff answer")
    pending = state.handoff
    if pending is None:
        raise TransitionRefused(
            f"case {state.case_id} has no handoff waiting for an answer (handoff-pending)",
            rule="handoff-pending",
        )
    ends = {
        "from_jurisdiction": pending.from_jurisdiction,
        "to_jurisdiction": pending.to_jurisdiction,
        "from_region": pending.from_region,
        "to_region": pending.to_region,
    }
    if accept:
        return Decision(
            HandoffAccepted,
            HandoffAcceptedPayload(**ends, note=text),
            actor,
            jurisdiction=pending.to_jurisdiction,
        )
    if text is None or not text.strip():
        raise TransitionRefused(
            "returning a handoff needs a reason (handoff-return-reason)", rule="handoff-return-reason"
        )
    return Decision(HandoffReturned, HandoffReturnedPayload(**ends, reason=text), actor)
