"""The police's part: the transfer to the police (移送公安) with its referral bundle, and the police's
acceptance (受理/立案) or return (退回) of the transferred case."""

from __future__ import annotations

from datetime import datetime

from contracts.envelope import Actor
from contracts.events import (
    CaseEscalated,
    EscalatedPayload,
    PoliceAccepted,
    PoliceAcceptedPayload,
    PoliceReturned,
    PoliceReturnedPayload,
    ReferralPackaged,
)
from contracts.vocabulary import EscalationTarget
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.referral import package_referral
from services.triage.domain.state import CaseState
from services.triage.domain.workflow.transitions import require


def transfer_to_police(
    state: CaseState, actor: Actor, *, reason: str, summary: str | None, district: str
) -> list[Decision]:
    """Transfer to the police (移送公安): the escalation, then the referral bundle's manifest."""
    require(state, "transfer")
    if state.transferred_to_police:
        raise TransitionRefused(
            f"case {state.case_id} is with the police already (police-once)", rule="police-once"
        )
    if summary is None or not summary.strip():
        raise TransitionRefused(
            "a transfer to the police needs a summary of the case (transfer-needs-summary)",
            rule="transfer-needs-summary",
        )
    escalated = EscalatedPayload(
        target=EscalationTarget.POLICE,
        target_jurisdiction=district,
        reason=reason,
        rule=None,
        from_jurisdiction=state.jurisdiction,
    )
    # The bundle's manifest covers the chain up to the transfer, so it is built once that is sealed.
    return [
        Decision(CaseEscalated, escalated, actor),
        Decision(
            ReferralPackaged, lambda transferred: package_referral(transferred, summary), actor, follows=True
        ),
    ]


def accept_by_police(
    state: CaseState, actor: Actor, *, police_case_number: str, police_jurisdiction: str, now: datetime
) -> Decision:
    """The police accept the transferred case under their case number (受理/立案)."""
    require(state, "police acceptance")
    police = state.police
    if police is None or police.returned or police.accepted_at is not None:
        raise TransitionRefused(
            f"case {state.case_id} has no transfer waiting for the police's answer (police-answer-once)",
            rule="police-answer-once",
        )
    payload = PoliceAcceptedPayload(
        police_case_number=police_case_number, accepted_at=now, police_jurisdiction=police_jurisdiction
    )
    return Decision(PoliceAccepted, payload, actor)


def return_by_police(state: CaseState, actor: Actor, *, reason: str, police_jurisdiction: str) -> Decision:
    """The police return the transferred case (退回) with their reason; the office handles it again."""
    require(state, "police return")
    police = state.police
    if police is None or police.returned or police.accepted_at is not None:
        raise TransitionRefused(
            f"case {state.case_id} has no transfer waiting for the police's answer (police-answer-once)",
            rule="police-answer-once",
        )
    return Decision(
        PoliceReturned, PoliceReturnedPayload(reason=reason, police_jurisdiction=police_jurisdiction), actor
    )
