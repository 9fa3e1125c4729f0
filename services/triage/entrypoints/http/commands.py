"""How every officer's command is recorded, whichever resource it belongs to (the routes are in the modules
beside this one): every command needs an access token; the token's user is the actor of the event.

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
from fastapi import Depends
from fastapi.responses import JSONResponse

from cluetrail.auth import AccessPolicy, Principal, Role, current_principal
from cluetrail.errors import Forbidden
from cluetrail.outbox import add_to_outbox
from cluetrail.telemetry import current_traceparent
from contracts.api import EventAccepted
from contracts.envelope import Envelope
from services.triage.adapters import cases
from services.triage.dependencies import TriageDeps
from services.triage.domain import access
from services.triage.domain.chain import advance
from services.triage.domain.decisions import Decision
from services.triage.domain.regions import require_writer
from services.triage.domain.state import CaseState

# When a client told "pending" may look again (Retry-After): the relay retries Kafka every second.
PENDING_RETRY_AFTER_SECONDS = 5
NOT_YOURS = "not within your jurisdiction"

PrincipalDep = Annotated[Principal, Depends(current_principal)]
ACCEPTED: dict[int | str, dict[str, object]] = {
    401: {"description": "No valid access token"},
    403: {
        "description": "Not yours to act on (outside your jurisdiction, or not your role); says nothing more"
    },
    409: {"description": "The case's state refuses the command; the reason names the rule"},
}
Decide = Callable[[CaseState, Principal], Decision | Sequence[Decision]]
DecideReading = Callable[[asyncpg.Connection, CaseState, Principal], Awaitable[Decision | Sequence[Decision]]]
DecidePair = Callable[[CaseState, CaseState, Principal], tuple[Sequence[Decision], Sequence[Decision]]]


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


async def answer(
    deps: TriageDeps, case_id: uuid.UUID, events: list[Envelope]
) -> EventAccepted | JSONResponse:
    """The answer to a recorded command, once Kafka holds its events or the wait is over (see above)."""
    published = await deps.relay.wait_published(
        [e.event_id for e in events], within=deps.settings.publish_timeout_seconds
    )
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
    conn: asyncpg.Connection, deps: TriageDeps, state: CaseState, decided: Sequence[Decision]
) -> tuple[CaseState, list[Envelope]]:
    """Seal an officer's decisions and the reactions they call for, store the new state and queue the
    events in the outbox, in the caller's transaction."""
    state, events = advance(
        state,
        decided,
        causation_id=None,
        traceparent=current_traceparent(),
        rules=deps.rules,
        registry=deps.registry,
        policy=deps.policy,
    )
    await cases.save(conn, state, events)
    await add_to_outbox(conn, events)
    return state, events


async def record(
    deps: TriageDeps,
    principal: Principal,
    case_id: uuid.UUID,
    command: str,
    decide: Decide,
    *,
    where: Callable[[CaseState], str | None] = lambda _: None,
) -> EventAccepted | JSONResponse:
    """Record ``command`` on one case: what ``decide`` makes of its state, and the reactions that follow."""

    async def decided(
        _: asyncpg.Connection, state: CaseState, who: Principal
    ) -> Decision | Sequence[Decision]:
        return decide(state, who)

    return await record_reading(deps, principal, case_id, command, decided, where=where)


async def record_reading(
    deps: TriageDeps,
    principal: Principal,
    case_id: uuid.UUID,
    command: str,
    decide: DecideReading,
    *,
    where: Callable[[CaseState], str | None] = lambda _: None,
) -> EventAccepted | JSONResponse:
    """``record`` for a decision that reads more of the case in the transaction (``decide`` is given the
    connection), e.g. a handoff to another region sealing the reporter's identity for it."""
    span = f"triage {command}"
    with deps.tracer.start_as_current_span(span, attributes={"cluetrail.case_id": str(case_id)}):
        async with deps.pool.acquire() as conn, conn.transaction():
            state = await cases.load(conn, case_id, for_update=True)
            authorize(deps.access, principal, state, command, None if state is None else where(state))
            assert state is not None  # authorize refuses an unknown case
            require_writer(state, deps.policy.region, deps.policy.regions)
            decided = await decide(conn, state, principal)
            _, events = await advance_and_save(
                conn, deps, state, [decided] if isinstance(decided, Decision) else decided
            )
    return await answer(deps, case_id, events)


async def record_pair(
    deps: TriageDeps,
    principal: Principal,
    case_id: uuid.UUID,
    other_id: uuid.UUID,
    command: str,
    decide: DecidePair,
    *,
    after: Callable[[asyncpg.Connection, CaseState, CaseState], Awaitable[None]] | None = None,
) -> EventAccepted | JSONResponse:
    """A command that writes to two cases (merge, split) in one transaction, rows locked in id order."""
    span = f"triage {command}"
    with deps.tracer.start_as_current_span(span, attributes={"cluetrail.case_id": str(case_id)}):
        async with deps.pool.acquire() as conn, conn.transaction():
            states: dict[uuid.UUID, CaseState | None] = {}
            for cid in sorted({case_id, other_id}):
                states[cid] = await cases.load(conn, cid, for_update=True)
            here, other = states[case_id], states[other_id]
            authorize(deps.access, principal, here, command)
            authorize(deps.access, principal, other, command)
            assert here is not None and other is not None
            require_writer(here, deps.policy.region, deps.policy.regions)
            require_writer(other, deps.policy.region, deps.policy.regions)
            mine, theirs = decide(here, other, principal)
            _, events = await advance_and_save(conn, deps, here, mine)
            if case_id != other_id:
                _, more = await advance_and_save(conn, deps, other, theirs)
                events += more
            if after is not None:
                await after(conn, here, other)
    return await answer(deps, case_id, events)
