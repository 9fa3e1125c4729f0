"""Key cases (重点案件): the lead office's flag and the supervising leader it names
(``domain.workflow.key_cases``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.api import EventAccepted
from services.triage.dependencies import Deps
from services.triage.domain import workflow
from services.triage.entrypoints.http.bodies import KeyCaseRequest
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, record

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/key-case", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def flag_key_case(
    case_id: uuid.UUID, body: KeyCaseRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Flag a key case or name its supervising leader (a role title) (lead office)."""
    return await record(
        deps,
        who,
        case_id,
        "key case",
        lambda s, p: workflow.flag_key_case(
            s, p.as_actor(), reasons=list(body.reasons), leader=body.supervising_leader
        ),
    )
