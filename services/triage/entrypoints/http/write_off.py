"""Writing a risk off (风险销号) once its conditions hold (``domain.write_off``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.api import EventAccepted
from contracts.envelope import utcnow
from services.triage.dependencies import Deps
from services.triage.domain.write_off import write_off as rule_write_off
from services.triage.entrypoints.http.bodies import WriteOffRequest
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, record

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/write-off", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def write_off(
    case_id: uuid.UUID, body: WriteOffRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Write the risk off (风险销号) once its conditions hold (lead office)."""
    return await record(
        deps,
        who,
        case_id,
        "write-off",
        lambda s, p: rule_write_off(
            s,
            p.as_actor(),
            outcome=body.outcome,
            summary=body.summary,
            recovered_amount_yuan=body.recovered_amount_yuan,
            claims_handled=body.claims_handled,
            no_recovery_reason=body.no_recovery_reason,
            now=utcnow(),
            policy=deps.policy,
        ),
    )
