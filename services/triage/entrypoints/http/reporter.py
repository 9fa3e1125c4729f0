"""The reporter's identity (举报人), sealed by intake: opened for the lead office, and for the police once the
case is transferred to them, and every reading recorded on the case's chain first."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from cluetrail.errors import Forbidden, NotFound
from contracts.events import (
    ReporterIdentityViewed,
    ReporterIdentityViewedPayload,
)
from services.triage.adapters import cases
from services.triage.dependencies import Deps
from services.triage.domain import access
from services.triage.domain.decisions import Decision
from services.triage.domain.regions import require_writer
from services.triage.entrypoints.http.bodies import ReporterView
from services.triage.entrypoints.http.commands import ACCEPTED, PrincipalDep, advance_and_save
from services.triage.entrypoints.http.identity import open_identity
from services.triage.entrypoints.http.reads import readable

router = APIRouter(prefix="/v1/cases", tags=["cases"])


@router.get(
    "/{case_id}/reporter",
    response_model=ReporterView,
    responses={
        401: ACCEPTED[401],
        403: {"description": "Not entitled to the reporter's identity of this case; says nothing more"},
        404: {"description": "The clue was reported anonymously (entitled roles only)"},
    },
)
async def reporter_identity(
    case_id: uuid.UUID,
    deps: Deps,
    who: PrincipalDep,
    purpose: Annotated[
        # Text, not only blanks, and no U+0000: the purpose goes into an event PostgreSQL must store.
        str,
        Query(
            min_length=1,
            max_length=5000,
            pattern=r"^[^\x00]*[^\s\x00][^\x00]*$",
            description="Why it is needed.",
        ),
    ],
) -> ReporterView:
    """Open the sealed reporter identity (lead office; police once the case is transferred to them).

    Every reading is recorded first: a ``reporter-identity-viewed`` event (who, when, purpose) goes on the
    case's chain in the same transaction, so the identity is never shown without its trace.
    """
    # The role first: a refusal is the same whether or not the case exists or names a reporter.
    if who.role not in access.REPORTER_READERS:
        raise Forbidden(access.NOT_ENTITLED, rule="reporter-identity-roles")
    with deps.tracer.start_as_current_span(
        "triage reporter identity", attributes={"cluetrail.case_id": str(case_id)}
    ):
        async with deps.pool.acquire() as conn, conn.transaction():
            state = await cases.load(conn, case_id, for_update=True)
            # A district that held the case before a handoff reads its trail, not its reporter.
            can_read = state is not None and readable(deps.access, who, state, former_holders=False)
            state = access.require_reporter_reader(who, state, can_read=can_read)
            # Each reading goes on the case's chain, which only the region writing the case extends.
            require_writer(state, deps.policy.region, deps.policy.regions)
            identity = await open_identity(conn, deps, state)
            if identity is None:
                raise NotFound(f"case {case_id} was reported anonymously", rule="reported-anonymously")
            viewed = Decision(
                ReporterIdentityViewed,
                ReporterIdentityViewedPayload(purpose=purpose, viewer_jurisdiction=who.jurisdiction),
                who.as_actor(),
            )
            _, events = await advance_and_save(conn, deps, state, [viewed])
    deps.relay.wake()
    return ReporterView(case_id=case_id, reporter=identity, viewed_event_id=events[0].event_id)
