"""The police's answer to a case transferred to them (移送公安): acceptance under their case number, or return
with their reason (``domain.workflow.police``). The transfer itself is an escalation (``handling``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.api import EventAccepted
from contracts.envelope import utcnow
from services.triage.dependencies import Deps
from services.triage.domain import workflow
from services.triage.entrypoints.http.bodies import PoliceAcceptanceRequest, ReasonRequest
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, record

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post(
    "/{case_id}/police-acceptance", status_code=202, response_model=EventAccepted, responses=ACCEPTED
)
async def police_acceptance(
    case_id: uuid.UUID, body: PoliceAcceptanceRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The police accept the case transferred to them, under their case number."""
    return await record(
        deps,
        who,
        case_id,
        "police acceptance",
        lambda s, p: workflow.accept_by_police(
            s,
            p.as_actor(),
            police_case_number=body.police_case_number,
            police_jurisdiction=p.jurisdiction,
            now=utcnow(),
        ),
    )


@router.post("/{case_id}/police-return", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def police_return(
    case_id: uuid.UUID, body: ReasonRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The police return the case transferred to them, with their reason."""
    return await record(
        deps,
        who,
        case_id,
        "police return",
        lambda s, p: workflow.return_by_police(
            s, p.as_actor(), reason=body.reason, police_jurisdiction=p.jurisdiction
        ),
    )
