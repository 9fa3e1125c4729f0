"""Handing a case to another district (协商办理): the offer, and the receiving district's acceptance or return
(``domain.workflow.handoff``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cluetrail.auth import Principal
from contracts.api import EventAccepted
from services.triage.dependencies import Deps
from services.triage.domain import workflow
from services.triage.domain.decisions import Decision, district_of
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.entrypoints.http.bodies import HandoffAnswer, HandoffRequest, ReasonRequest
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, record

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/handoff", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def request_handoff(
    case_id: uuid.UUID, body: HandoffRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Offer the case to another district of this region (协商办理); both ends record the deployment's
    region (``CLUETRAIL_REGION``)."""
    registry = deps.registry

    def decide(state: CaseState, principal: Principal) -> Decision:
        if body.to_jurisdiction not in registry:
            raise TransitionRefused(
                f"{body.to_jurisdiction} is not in the jurisdiction tree (handoff-known-jurisdiction)",
                rule="handoff-known-jurisdiction",
            )
        return workflow.request_handoff(
            state,
            principal.as_actor(),
            to_jurisdiction=body.to_jurisdiction,
            from_district=district_of(state.jurisdiction, registry),
            to_district=district_of(body.to_jurisdiction, registry),
            reason=body.reason,
            region=deps.policy.region,
        )

    return await record(deps, who, case_id, "handoff", decide)


def _receiver(state: CaseState) -> str | None:
    return state.handoff.to_jurisdiction if state.handoff is not None else None


@router.post("/{case_id}/handoff/accept", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def accept_handoff(
    case_id: uuid.UUID, body: HandoffAnswer, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The receiving district accepts: the case continues there with its whole chain."""
    return await record(
        deps,
        who,
        case_id,
        "handoff answer",
        lambda s, p: workflow.answer_handoff(s, p.as_actor(), accept=True, text=body.note),
        where=_receiver,
    )


@router.post("/{case_id}/handoff/return", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def return_handoff(
    case_id: uuid.UUID, body: ReasonRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The receiving district returns the handoff with its reason; the case stays where it was."""
    return await record(
        deps,
        who,
        case_id,
        "handoff answer",
        lambda s, p: workflow.answer_handoff(s, p.as_actor(), accept=False, text=body.reason),
        where=_receiver,
    )
