"""Officers' HTTP API, its commands (reads are in ``reads``): every command needs an access token; the
token's user is the actor of the event.

Each command runs in one transaction: the case row ``FOR UPDATE``, the access check (jurisdiction first, so a
case elsewhere and a case that does not exist get the same 403), the workflow's decision plus the reactions
it triggers, the new state and the outbox rows; after the commit the relay is woken and the answer waits
until Kafka has the events — 202 with the main event, status ``published``; or, if Kafka is not reached in
time, 202 with status ``pending`` and a ``Retry-After``: the events stay in the outbox and the relay
publishes them as soon as Kafka answers, so nothing accepted is lost and the answer is true either way.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from cluetrail.auth import AccessPolicy, Principal, Role, current_principal
from cluetrail.errors import Forbidden
from cluetrail.outbox import add_to_outbox
from cluetrail.service import Runtime, runtime_of
from cluetrail.telemetry import current_traceparent
from contracts.api import CloseRequest, DeterminationRequest, EventAccepted
from contracts.envelope import Envelope, utcnow
from contracts.vocabulary import MatchBasis
from services.triage.adapters import cases, subjects
from services.triage.domain import access, workflow
from services.triage.domain.chain import advance
from services.triage.domain.decisions import Decision, district_of
from services.triage.domain.dedup import subject_keys
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.state import CaseState
from services.triage.domain.write_off import write_off as rule_write_off
from services.triage.handlers.bodies import (
    EscalationRequest,
    HandoffAnswer,
    HandoffRequest,
    KeyCaseRequest,
    MeasureRequest,
    MergeRequest,
    PoliceAcceptanceRequest,
    ReasonRequest,
    ReclassificationRequest,
    RewardRequest,
    SplitRequest,
    WriteOffRequest,
)
from services.triage.handlers.consumer import CaseStream
from services.triage.settings import TriageSettings

router = APIRouter(prefix="/v1/cases", tags=["cases"])
STREAM = "triage.stream"
# When a client told "pending" may look again (Retry-After): the relay retries Kafka every second.
PENDING_RETRY_AFTER_SECONDS = 5
NOT_YOURS = "not within your jurisdiction"


def stream_of(request: Request) -> CaseStream:
    stream: CaseStream = runtime_of(request).state[STREAM]
    return stream


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
StreamDep = Annotated[CaseStream, Depends(stream_of)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
ACCEPTED: dict[int | str, dict[str, object]] = {
    401: {"description": "No valid access token"},
    403: {
        "description": "Not yours to act on (outside your jurisdiction, or not your role); says nothing more"
    },
    409: {"description": "The case's state refuses the command; the reason names the rule"},
}
Decide = Callable[[CaseState, Principal], Decision | Sequence[Decision]]


def authorize(
    policy: AccessPolicy,
    principal: Principal,
    state: CaseState | None,
    command: str,
    where: str | None = None,
) -> None:
    """May ``principal`` issue ``command`` on the case? Jurisdiction first, then role, then department.

    ``where`` is the jurisdiction the command acts in when it is not the case's (a handoff's receiver);
    a case reported up to a community or street office is acted on there.
    """
    if state is None:
        # An unknown case answers exactly like a case elsewhere.
        policy.require_act(principal, "")
        raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
    if principal.role is Role.POLICE and not state.transferred_to_police:
        raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
    jurisdiction = where or access.acting_jurisdiction(state)
    policy.require_act(principal, jurisdiction)
    policy.require_act(principal, jurisdiction, *access.roles_for(command, state))
    access.require_department(principal, state)


async def _answer(
    rt: Runtime, stream: CaseStream, command: str, case_id: uuid.UUID, events: list[Envelope]
) -> EventAccepted | JSONResponse:
    settings = rt.settings
    timeout = settings.publish_timeout_seconds if isinstance(settings, TriageSettings) else 10.0
    published = await stream.relay.wait_published([e.event_id for e in events], within=timeout)
    main = next(e for e in events if e.case_id == case_id)
    accepted = EventAccepted(
        case_id=main.case_id,
        event_id=main.event_id,
        seq=main.seq,
        type=main.type,
        status="published" if published else "pending",
    )
    if published:
        return accepted
    # Recorded and queued: the relay publishes it as soon as Kafka answers.
    return JSONResponse(
        accepted.model_dump(mode="json"),
        status_code=202,
        headers={"Retry-After": str(PENDING_RETRY_AFTER_SECONDS)},
    )


async def advance_and_save(
    conn: asyncpg.Connection, stream: CaseStream, state: CaseState, decided: Sequence[Decision]
) -> tuple[CaseState, list[Envelope]]:
    """Seal an officer's decisions and the reactions they call for, store the new state and queue the
    events in the outbox, in the caller's transaction."""
    state, events = advance(
        state,
        decided,
        causation_id=None,
        traceparent=current_traceparent(),
        rules=stream.rules,
        registry=stream.registry,
        policy=stream.policy,
    )
    await cases.save(conn, state, events)
    await add_to_outbox(conn, events)
    return state, events


async def _record(
    rt: Runtime,
    stream: CaseStream,
    principal: Principal,
    case_id: uuid.UUID,
    command: str,
    decide: Decide,
    *,
    where: Callable[[CaseState], str | None] = lambda _: None,
) -> EventAccepted | JSONResponse:
    with rt.tracer.start_as_current_span(f"triage {command}", attributes={"cluetrail.case_id": str(case_id)}):
        async with rt.pool.acquire() as conn, conn.transaction():
            state = await cases.load(conn, case_id, for_update=True)
            authorize(stream.access, principal, state, command, None if state is None else where(state))
            assert state is not None  # authorize refuses an unknown case
            decided = decide(state, principal)
            _, events = await advance_and_save(
                conn, stream, state, [decided] if isinstance(decided, Decision) else decided
            )
    return await _answer(rt, stream, command, case_id, events)


async def _record_pair(
    rt: Runtime,
    stream: CaseStream,
    principal: Principal,
    case_id: uuid.UUID,
    other_id: uuid.UUID,
    command: str,
    decide: Callable[[CaseState, CaseState, Principal], tuple[Sequence[Decision], Sequence[Decision]]],
    *,
    after: Callable[[asyncpg.Connection, CaseState, CaseState], Awaitable[None]] | None = None,
) -> EventAccepted | JSONResponse:
    """A command that writes to two cases (merge, split) in one transaction, rows locked in id order."""
    with rt.tracer.start_as_current_span(f"triage {command}", attributes={"cluetrail.case_id": str(case_id)}):
        async with rt.pool.acquire() as conn, conn.transaction():
            states: dict[uuid.UUID, CaseState | None] = {}
            for cid in sorted({case_id, other_id}):
                states[cid] = await cases.load(conn, cid, for_update=True)
            here, other = states[case_id], states[other_id]
            authorize(stream.access, principal, here, command)
            authorize(stream.access, principal, other, command)
            assert here is not None and other is not None
            mine, theirs = decide(here, other, principal)
            _, events = await advance_and_save(conn, stream, here, mine)
            if case_id != other_id:
                _, more = await advance_and_save(conn, stream, other, theirs)
                events += more
            if after is not None:
                await after(conn, here, other)
    return await _answer(rt, stream, command, case_id, events)


@router.post("/{case_id}/determination", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def determine(
    case_id: uuid.UUID, body: DeterminationRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Record an officer's determination (研判定性). Disputed: reported one level up from the officer's
    office. Suspected crime: to the district lead office, or — determined by the lead office, with the
    referral ``summary`` — transferred to the police at once."""
    return await _record(
        rt,
        stream,
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
            registry=stream.registry,
            summary=body.summary,
        ),
    )


@router.post("/{case_id}/classification", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def reclassify(
    case_id: uuid.UUID, body: ReclassificationRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Classify the case as the officer sees it (sector, behaviours): it is graded again at once and its
    responsible department follows the new sector."""
    return await _record(
        rt,
        stream,
        who,
        case_id,
        "reclassification",
        lambda s, p: workflow.reclassify(
            s, p.as_actor(), sector=body.sector, behaviours=list(body.behaviours), reason=body.reason
        ),
    )


@router.post("/{case_id}/escalation", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def escalate(
    case_id: uuid.UUID, body: EscalationRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Report the case one level up from the officer's office (逐级上报: community → street → district lead
    office), or transfer it to the police of its district (lead office, with a summary: the referral bundle
    is built at once)."""

    def decide(state: CaseState, principal: Principal) -> Sequence[Decision]:
        if body.target == "police":
            district = district_of(state.jurisdiction, stream.registry)
            return workflow.transfer_to_police(
                state, principal.as_actor(), reason=body.reason, summary=body.summary, district=district
            )
        return [
            workflow.escalate_to_lead_office(
                state,
                principal.as_actor(),
                reason=body.reason,
                office=principal.jurisdiction,
                registry=stream.registry,
            )
        ]

    command = "transfer" if body.target == "police" else "escalation"
    return await _record(rt, stream, who, case_id, command, decide)


@router.post("/{case_id}/measures", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def record_measure(
    case_id: uuid.UUID, body: MeasureRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Record a disposal measure (warning interview, rectification order, seizure, …)."""
    return await _record(
        rt,
        stream,
        who,
        case_id,
        "measure",
        lambda s, p: workflow.record_measure(s, p.as_actor(), body.measure, body.detail, body.amount_yuan),
    )


@router.post("/{case_id}/close", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def close(
    case_id: uuid.UUID, body: CloseRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Close with the recorded outcome and a summary."""
    return await _record(
        rt,
        stream,
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


@router.post("/{case_id}/write-off", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def write_off(
    case_id: uuid.UUID, body: WriteOffRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Write the risk off (风险销号) once its conditions hold (lead office)."""
    return await _record(
        rt,
        stream,
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
            policy=stream.policy,
        ),
    )


@router.post("/{case_id}/reopen", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def reopen(
    case_id: uuid.UUID, body: ReasonRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Look back (回头看): reopen a closed or written-off case (lead office)."""
    return await _record(
        rt,
        stream,
        who,
        case_id,
        "reopening",
        lambda s, p: workflow.reopen(s, p.as_actor(), reason=body.reason),
    )


@router.post("/{case_id}/key-case", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def flag_key_case(
    case_id: uuid.UUID, body: KeyCaseRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Flag a key case or name its supervising leader (a role title) (lead office)."""
    return await _record(
        rt,
        stream,
        who,
        case_id,
        "key case",
        lambda s, p: workflow.flag_key_case(
            s, p.as_actor(), reasons=list(body.reasons), leader=body.supervising_leader
        ),
    )


@router.post(
    "/{case_id}/police-acceptance", status_code=202, response_model=EventAccepted, responses=ACCEPTED
)
async def police_acceptance(
    case_id: uuid.UUID, body: PoliceAcceptanceRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The police accept the case transferred to them, under their case number."""
    return await _record(
        rt,
        stream,
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
    case_id: uuid.UUID, body: ReasonRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The police return the case transferred to them, with their reason."""
    return await _record(
        rt,
        stream,
        who,
        case_id,
        "police return",
        lambda s, p: workflow.return_by_police(
            s, p.as_actor(), reason=body.reason, police_jurisdiction=p.jurisdiction
        ),
    )


@router.post("/{case_id}/handoff", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def request_handoff(
    case_id: uuid.UUID, body: HandoffRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Offer the case to another district of this region (协商办理); both ends record the deployment's
    region (``CLUETRAIL_REGION``)."""
    registry = stream.registry

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
            region=stream.policy.region,
        )

    return await _record(rt, stream, who, case_id, "handoff", decide)


def _receiver(state: CaseState) -> str | None:
    return state.handoff.to_jurisdiction if state.handoff is not None else None


@router.post("/{case_id}/handoff/accept", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def accept_handoff(
    case_id: uuid.UUID, body: HandoffAnswer, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The receiving district accepts: the case continues there with its whole chain."""
    return await _record(
        rt,
        stream,
        who,
        case_id,
        "handoff answer",
        lambda s, p: workflow.answer_handoff(s, p.as_actor(), accept=True, text=body.note),
        where=_receiver,
    )


@router.post("/{case_id}/handoff/return", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def return_handoff(
    case_id: uuid.UUID, body: ReasonRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """The receiving district returns the handoff with its reason; the case stays where it was."""
    return await _record(
        rt,
        stream,
        who,
        case_id,
        "handoff answer",
        lambda s, p: workflow.answer_handoff(s, p.as_actor(), accept=False, text=body.reason),
        where=_receiver,
    )


@router.post("/{case_id}/merge", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def merge(
    case_id: uuid.UUID, body: MergeRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Merge this case into another (并案); its clue is linked there, nothing is lost."""

    def decide(
        here: CaseState, into: CaseState, principal: Principal
    ) -> tuple[Sequence[Decision], Sequence[Decision]]:
        merged, linked = workflow.merge(
            here, into, principal.as_actor(), reason=body.reason, basis=MatchBasis.OFFICER
        )
        return [merged], linked

    return await _record_pair(rt, stream, who, case_id, body.into_case_id, "merge", decide)


@router.post("/{case_id}/split", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def split(
    case_id: uuid.UUID, body: SplitRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
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
        return {key for key, _ in subject_keys(state.clue, district_of(filed_in, stream.registry))}

    async def refile(conn: asyncpg.Connection, here: CaseState, clue_case: CaseState) -> None:
        own = keys(clue_case) - keys(here)
        filed = clue_case.case_id, clue_case.reported_at
        await subjects.refile(conn, sorted(own), *filed, away_from=here.case_id)

    return await _record_pair(rt, stream, who, case_id, body.clue_case_id, "split", decide, after=refile)


@router.post("/{case_id}/reward", status_code=202, response_model=EventAccepted, responses=ACCEPTED)
async def grant_reward(
    case_id: uuid.UUID, body: RewardRequest, rt: RuntimeDep, stream: StreamDep, who: PrincipalDep
) -> EventAccepted | JSONResponse:
    """Grant the reporter a reward (举报奖励) once the clue is verified (lead office)."""
    with rt.tracer.start_as_current_span("triage reward", attributes={"cluetrail.case_id": str(case_id)}):
        async with rt.pool.acquire() as conn, conn.transaction():
            state = await cases.load(conn, case_id, for_update=True)
            authorize(stream.access, who, state, "reward")
            assert state is not None
            verified_in = None
            if state.merged_into is not None:
                verified_in = await cases.load(conn, state.merged_into)
            decision = workflow.grant_reward(
                state, who.as_actor(), amount_yuan=body.amount_yuan, basis=body.basis, verified_in=verified_in
            )
            _, events = await advance_and_save(conn, stream, state, [decision])
    return await _answer(rt, stream, "reward", case_id, events)
