"""Officers' HTTP API: determine, escalate and close a case; read triage's view of it.

Each command runs in one transaction: the case row ``FOR UPDATE``, the domain decision (plus the reactions
it triggers), the new state and the outbox rows; after the commit the relay is woken and the answer waits
until Kafka has the events — 202 with the main event, or 503 if Kafka is not reached in time (the events
stay in the outbox and are published later, so nothing accepted is lost).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cluetrail.errors import NotFound
from cluetrail.outbox import add_to_outbox
from cluetrail.service import Runtime, runtime_of
from cluetrail.telemetry import current_traceparent
from contracts.api import CloseRequest, DeterminationRequest, EventAccepted, OfficerAction
from contracts.events import LongText
from contracts.vocabulary import CaseStatus, Determination, EscalationTarget, Grade, Outcome
from services.triage import store
from services.triage.chain import advance
from services.triage.domain import decisions
from services.triage.domain.decisions import Decision
from services.triage.domain.state import CaseState, Escalation
from services.triage.handlers.consumer import CaseStream
from services.triage.settings import TriageSettings

router = APIRouter(prefix="/v1/cases", tags=["cases"])
STREAM = "triage.stream"


class EscalationRequest(OfficerAction):
    """An officer escalates a case to the district lead office (逐级上报) or transfers it to the police."""

    target: Literal["lead_office", "police"]
    reason: LongText


class CaseView(BaseModel):
    """Triage's view of a case: where it stands, its grade, and the end of its chain."""

    case_id: uuid.UUID
    status: CaseStatus
    jurisdiction: str
    grade: Grade | None
    score: int | None
    rule_set: str | None
    key_case: bool
    key_case_reasons: list[str]
    determination: Determination | None
    outcome: Outcome | None
    escalations: list[Escalation]
    last_seq: int
    last_hash: str


def stream_of(request: Request) -> CaseStream:
    stream: CaseStream = runtime_of(request).state[STREAM]
    return stream


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
StreamDep = Annotated[CaseStream, Depends(stream_of)]
ACCEPTED: dict[int | str, dict[str, object]] = {
    404: {"description": "Unknown case"},
    409: {"description": "The case's state refuses the command; the reason names the rule"},
    503: {"description": "Recorded, but Kafka did not confirm in time; it will be published"},
}


async def _record(
    rt: Runtime, stream: CaseStream, case_id: uuid.UUID, command: str, decide: Callable[[CaseState], Decision]
) -> EventAccepted | JSONResponse:
    with rt.tracer.start_as_current_span(f"triage {command}", attributes={"cluetrail.case_id": str(case_id)}):
        async with rt.pool.acquire() as conn, conn.transaction():
            state = await store.load(conn, case_id, for_update=True)
            if state is None:
                raise NotFound(f"case {case_id} is unknown to triage")
            state, events = advance(
                state,
                [decide(state)],
                causation_id=None,
                traceparent=current_traceparent(),
                rules=stream.rules,
                registry=stream.registry,
            )
            await store.save(conn, state, events)
            await add_to_outbox(conn, events)
    settings = rt.settings
    timeout = settings.publish_timeout_seconds if isinstance(settings, TriageSettings) else 10.0
    if not await stream.relay.wait_published([e.event_id for e in events], within=timeout):
        return JSONResponse(
            status_code=503,
            content={
                "detail": f"{command} of case {case_id} is recorded but Kafka has not confirmed it yet; "
                "it will be published",
                "errors": [],
            },
        )
    main = events[0]
    return EventAccepted(case_id=main.case_id, event_id=main.event_id, seq=main.seq, type=main.type)


@router.post("/{case_id}/determination", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def determine(
    case_id: uuid.UUID, body: DeterminationRequest, rt: RuntimeDep, stream: StreamDep
) -> EventAccepted | JSONResponse:
    """Record an officer's determination (研判定性); suspected crime goes to the police, disputed to the lead
    office, automatically."""
    return await _record(rt, stream, case_id, "determination", lambda s: decisions.determine(s, body))


@router.post("/{case_id}/escalation", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def escalate(
    case_id: uuid.UUID, body: EscalationRequest, rt: RuntimeDep, stream: StreamDep
) -> EventAccepted | JSONResponse:
    """Escalate to the lead office of the case's district, or transfer to the police there."""
    return await _record(
        rt,
        stream,
        case_id,
        "escalation",
        lambda s: decisions.escalate(
            s,
            officer_id=body.officer_id,
            target=EscalationTarget(body.target),
            reason=body.reason,
            registry=stream.registry,
        ),
    )


@router.post("/{case_id}/close", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def close(
    case_id: uuid.UUID, body: CloseRequest, rt: RuntimeDep, stream: StreamDep
) -> EventAccepted | JSONResponse:
    """Close (销号) with the recorded outcome and a summary."""
    return await _record(rt, stream, case_id, "closing", lambda s: decisions.close(s, body))


@router.get("/{case_id}", response_model=CaseView, responses={404: {"description": "Unknown case"}})
async def case_view(case_id: uuid.UUID, rt: RuntimeDep) -> CaseView:
    """Triage's view of a case."""
    async with rt.pool.acquire() as conn:
        state = await store.load(conn, case_id)
    if state is None:
        raise NotFound(f"case {case_id} is unknown to triage")
    return CaseView(
        case_id=state.case_id,
        status=state.status,
        jurisdiction=state.jurisdiction,
        grade=state.grade,
        score=state.score,
        rule_set=state.rule_set,
        key_case=state.key_case,
        key_case_reasons=list(state.key_case_reasons),
        determination=state.determination,
        outcome=state.outcome,
        escalations=list(state.escalations),
        last_seq=state.last_seq,
        last_hash=state.last_hash,
    )
