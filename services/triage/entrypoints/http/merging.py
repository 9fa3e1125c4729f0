"""Merging a case into another (并案) and splitting a linked clue off again (分案): commands on two cases at
once (``domain.workflow.merging``)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cluetrail.auth import Principal
from contracts.api import EventAccepted
from contracts.vocabulary import MatchBasis
from services.triage.adapters import subjects
from services.triage.dependencies import Deps
from services.triage.domain import workflow
from services.triage.domain.decisions import Decision, district_of
from services.triage.domain.dedup import subject_keys
from services.triage.domain.state import CaseState
from services.triage.entrypoints.http.bodies import MergeRequest, SplitRequest
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, record_pair

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.post("/{case_id}/merge", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def merge(
    case_id: uuid.UUID, body: MergeRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Merge this case into another (并案); its clue is linked there, nothing is lost."""

    def decide(
        here: CaseState, into: CaseState, principal: Principal
    ) -> tuple[Sequence[Decision], Sequence[Decision]]:
        merged, linked = workflow.merge(
            here, into, principal.as_actor(), reason=body.reason, basis=MatchBasis.OFFICER
        )
        return [merged], linked

    return await record_pair(deps, who, case_id, body.into_case_id, "merge", decide)


@router.post("/{case_id}/split", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def split(
    case_id: uuid.UUID, body: SplitRequest, deps: Deps, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Separate a linked clue from this case (分案); the clue's own case is reopened and handled by itself.
    This case is graded again without the clue's participants, amount and heat, and the clue's subject keys
    (those this case's own clue does not share) are filed under the clue's case."""

    def decide(
        here: CaseState, clue_case: CaseState, principal: Principal
    ) -> tuple[Sequence[Decision], Sequence[Decision]]:
        moved, reopened = workflow.split(here, clue_case, principal.as_actor(), reason=body.reason)
        return [moved], [reopened]

    def keys(state: CaseState) -> set[str]:
        filed_in = state.held_by[0] if state.held_by else state.jurisdiction
        return {key for key, _ in subject_keys(state.clue, district_of(filed_in, deps.registry))}

    async def refile(conn: asyncpg.Connection, here: CaseState, clue_case: CaseState) -> None:
        own = keys(clue_case) - keys(here)
        filed = clue_case.case_id, clue_case.reported_at
        await subjects.refile(conn, sorted(own), *filed, away_from=here.case_id)

    return await record_pair(deps, who, case_id, body.clue_case_id, "split", decide, after=refile)
