"""A reward for a case's reporter (举报奖励), once the clue is verified (``domain.workflow.reward``)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from contracts.api import EventAccepted
from services.triage.adapters import cases
from services.triage.dependencies import Deps
from services.triage.domain import workflow
from services.triage.domain.regions import require_writer
from services.triage.entrypoints.http.bodies import RewardRequest
from services.triage.entrypoints.http.commands import (
    ACCEPTED,
    PrincipalDep,
    advance_and_save,
    answer,
    authorize,
)

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/reward", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def grant_reward(
    case_id: uuid.UUID, body: RewardRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Grant the reporter a reward (举报奖励) once the clue is verified (lead office)."""
    with deps.tracer.start_as_current_span("triage reward", attributes={"cluetrail.case_id": str(case_id)}):
        async with deps.pool.acquire() as conn, conn.transaction():
            state = await cases.load(conn, case_id, for_update=True)
            authorize(deps.access, who, state, "reward")
            assert state is not None
            require_writer(state, deps.policy.region, deps.policy.regions)
            verified_in = None
            if state.merged_into is not None:
                verified_in = await cases.load(conn, state.merged_into)
            decision = workflow.grant_reward(
                state, who.as_actor(), amount_yuan=body.amount_yuan, basis=body.basis, verified_in=verified_in
            )
            _, events = await advance_and_save(conn, deps, state, [decision])
    return await answer(deps, case_id, events)
