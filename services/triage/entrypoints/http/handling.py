"""Handling a case (研判处置): the officer's determination, classification, escalation one level up or
transfer to the police, disposal measures, closing and reopening (``domain.workflow.handling``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cluetrail.auth import Principal
from contracts.api import CloseRequest, DeterminationRequest, EventAccepted
from services.triage.dependencies import Deps
from services.triage.domain import workflow
from services.triage.domain.decisions import Decision, district_of
from services.triage.domain.state import CaseState
from services.triage.entrypoints.http.bodies import (
    EscalationRequest,
    MeasureRequest,
    ReasonRequest,
    ReclassificationRequest,
)
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, record

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/determination", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def determine(
    case_id: uuid.UUID, body: DeterminationRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Record an officer's determination (研判定性). Disputed: reported one level up from the officer's
    office. Suspected crime: to the district lead office, or — determined by the lead office, with the
    referral ``summary`` — transferred to the police at once."""
    return await record(
        deps,
        who,
        case_id,
        "determination",
        lambda s, p: workflow.determine(
            s,
            p.as_actor(),
            determination=body.determination,
            basis=body.basis,
            measures=[m.value for m in body.measures],
            office=p.jurisdiction,
            registry=deps.registry,
            summary=body.summary,
        ),
    )


@router.post("/{case_id}/classification", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def reclassify(
    case_id: uuid.UUID, body: ReclassificationRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Classify the case as the officer sees it (sector, behaviours): it is graded again at once and its
    responsible department follows the new sector."""
    return await record(
        deps,
        who,
        case_id,
        "reclassification",
        lambda s, p: workflow.reclassify(
            s, p.as_actor(), sector=body.sector, behaviours=list(body.behaviours), reason=body.reason
        ),
    )


@router.post("/{case_id}/escalation", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def escalate(
    case_id: uuid.UUID, body: EscalationRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Report the case one level up from the officer's office (逐级上报: community → street → district lead
    office), or transfer it to the police of its district (lead office, with a summary: the referral bundle
    is built at once)."""

    def decide(state: CaseState, principal: Principal) -> Sequence[Decision]:
        if body.target == "police":
            district = district_of(state.jurisdiction, deps.registry)
            return workflow.transfer_to_police(
                state, principal.as_actor(), reason=body.reason, summary=body.summary, district=district
            )
        return [
            workflow.escalate_to_lead_office(
                state,
                principal.as_actor(),
                reason=body.reason,
                office=principal.jurisdiction,
                registry=deps.registry,
            )
        ]

    command = "transfer" if body.target == "police" else "escalation"
    return await record(deps, who, case_id, command, decide)


@router.post("/{case_id}/measures", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def record_measure(
    case_id: uuid.UUID, body: MeasureRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Record a disposal measure (warning interview, rectification order, seizure, …)."""
    return await record(
        deps,
        who,
        case_id,
        "measure",
        lambda s, p: workflow.record_measure(s, p.as_actor(), body.measure, body.detail, body.amount_yuan),
    )


@router.post("/{case_id}/close", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def close(
    case_id: uuid.UUID, body: CloseRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Close with the recorded outcome and a summary."""
    return await record(
        deps,
        who,
        case_id,
        "closing",
        lambda s, p: workflow.close(
            s,
            p.as_actor(),
            outcome=body.outcome,
            summary=body.summary,
            recovered_amount_yuan=body.recovered_amount_yuan,
        ),
    )


@router.post("/{case_id}/reopen", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def reopen(
    case_id: uuid.UUID, body: ReasonRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Look back (回头看): reopen a closed or written-off case (lead office)."""
    return await record(
        deps,
        who,
        case_id,
        "reopening",
        lambda s, p: workflow.reopen(s, p.as_actor(), reason=body.reason),
    )
