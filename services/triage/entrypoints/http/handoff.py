"""Handing a case to another district (协商办理): the offer, and the receiving district's acceptance or return
(``domain.workflow.handoff``)."""

from __future__ import annotations

import uuid

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cluetrail.auth import Principal
from contracts.api import EventAccepted
from contracts.events.handoff import SealedForRegion
from services.triage.dependencies import Deps
from services.triage.domain import workflow
from services.triage.domain.decisions import Decision, district_of
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.entrypoints.http.bodies import HandoffAnswer, HandoffRequest, ReasonRequest
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, record, record_reading
from services.triage.entrypoints.http.identity import open_identity

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/handoff", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def request_handoff(
    case_id: uuid.UUID, body: HandoffRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Offer the case to another district (协商办理), of this region or of another: both ends record their
    region. To another region, the writing of the case passes there at once, and the offer carries the
    reporter's identity sealed for that region's public key (docs/regions.md)."""
    registry, regions, here = deps.registry, deps.policy.regions, deps.policy.region
    if body.to_jurisdiction not in registry:
        raise TransitionRefused(
            f"{body.to_jurisdiction} is not in the jurisdiction tree (handoff-known-jurisdiction)",
            rule="handoff-known-jurisdiction",
        )
    to_region = regions.region_of(body.to_jurisdiction)
    if to_region is None:
        raise TransitionRefused(
            f"no region of this deployment serves {body.to_jurisdiction} (handoff-known-region)",
            rule="handoff-known-region",
        )

    async def seal_reporter(conn: asyncpg.Connection, state: CaseState) -> SealedForRegion | None:
        if to_region == here:
            return None
        if deps.region_sealer is None:
            raise TransitionRefused(
                f"this region holds no key to seal the reporter's identity for {to_region} "
                "(CLUETRAIL_REGION_KEYS_FILE) (handoff-region-key)",
                rule="handoff-region-key",
            )
        identity = await open_identity(conn, deps, state)
        return None if identity is None else deps.region_sealer.seal_for(to_region, identity, str(case_id))

    async def decide(conn: asyncpg.Connection, state: CaseState, principal: Principal) -> Decision:
        return workflow.request_handoff(
            state,
            principal.as_actor(),
            to_jurisdiction=body.to_jurisdiction,
            from_district=district_of(state.jurisdiction, registry),
            to_district=district_of(body.to_jurisdiction, registry),
            reason=body.reason,
            region=here,
            to_region=to_region,
            reporter=await seal_reporter(conn, state),
        )

    return await record_reading(deps, who, case_id, "handoff", decide)


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
