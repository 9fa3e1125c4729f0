"""Intake's HTTP routes (submit a clue, look up a receipt) and its Kafka subscriber (the receipt
projection, consumer group ``intake-receipts``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import asyncpg
from aiokafka import ConsumerRecord
from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from faststream.kafka import KafkaRouter
from opentelemetry.trace import Tracer
from pydantic import ValidationError

from cluetrail.auth import BEARER_SCHEME, AccessPolicy, optional_principal
from cluetrail.consume import Incoming, Rejected
from cluetrail.crypto import FieldSealer
from cluetrail.errors import InvalidInput, NotFound
from cluetrail.ids import new_receipt_code, normalise_receipt_code, receipt_digest
from cluetrail.kafka import notice_topic
from cluetrail.outbox import OutboxRelay
from cluetrail.service import (
    Runtime,
    case_events_router,
    connection,
    exactly_once_consumer,
    runtime_of,
    topic_consumer,
)
from cluetrail.telemetry import current_traceparent
from contracts.api import ClueAccepted, ClueSubmission, ReceiptMessage, ReceiptStatus, ReceiptStep
from contracts.envelope import utcnow, uuid7
from contracts.events import ClueReported, event_bytes
from contracts.jurisdictions import JurisdictionRegistry
from contracts.notices import Notice
from contracts.taxonomy import default_taxonomy
from services.intake import store
from services.intake.domain.clues import (
    clue_reported,
    jurisdiction_problems,
    request_digest,
    taxonomy_problems,
)
from services.intake.domain.receipts import BEIJING, STEP_LABELS, ChainBroken, follow, step_of
from services.intake.errors import MalformedReceiptCode
from services.intake.settings import IntakeSettings

RECEIPTS_GROUP = "intake-receipts"
# When a client told "pending" may ask again (Retry-After): the relay retries Kafka every second.
PENDING_RETRY_AFTER_SECONDS = 5
NOTICES_GROUP = "intake-receipt-notices"
log = logging.getLogger(__name__)


async def read_body(request: Request) -> bytes:
    """The request body, read under the service's body rules (``cluetrail.service.BodyRules``: 413 over
    ``CLUETRAIL_INTAKE_MAX_BODY_BYTES``, 400 when it is not UTF-8), refused as soon as it breaks them."""
    return await request.body()


def parse_submission(body: bytes, registry: JurisdictionRegistry) -> ClueSubmission:
    """The submission in ``body``: a 400 when it is not readable JSON, a 422 listing every field that
    breaks the contract or names an unknown jurisdiction, sector or behaviour. No error carries the input
    (the body itself, for unreadable JSON)."""
    try:
        submission = ClueSubmission.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
    problems = jurisdiction_problems(submission, registry) + taxonomy_problems(submission, default_taxonomy())
    if problems:
        raise RequestValidationError(
            [{"loc": ("body", *p.field.split(".")), "msg": p.reason, "type": p.kind} for p in problems]
        )
    return submission


RELAY = "intake.relay"


def clue_relay(rt: Runtime) -> OutboxRelay:
    """The relay that publishes accepted clues (the table ``accepted_clues`` is intake's outbox)."""
    relay: OutboxRelay = rt.state[RELAY]
    return relay


async def start_relay(rt: Runtime) -> None:
    """Start publishing accepted clues; clues stored unpublished before a restart go first."""
    relay = OutboxRelay(rt.pool, rt.broker, rt.settings, rt.tracer, table="accepted_clues")
    rt.state[RELAY] = relay
    rt.tasks.append(asyncio.create_task(relay.run(rt.stopping), name="intake-clue-relay"))


async def store_and_wait(
    rt: Runtime, candidate: store.AcceptedClue, digest: str, wait: float
) -> tuple[store.AcceptedClue, bool]:
    """Store the clue (or find the one stored under its key) and wait up to ``wait`` seconds for the relay
    to publish it; return the stored clue and whether Kafka holds it.

    The database connection is given back before the wait, so an outage of Kafka holds no connections.
    """
    relay = clue_relay(rt)
    with relay.expecting([candidate.event_id]) as expected:
        async with rt.pool.acquire() as conn:
            stored, inserted = await store.insert_or_existing(conn, candidate, current_traceparent())
        if inserted:
            return stored, await relay.wait_published([stored.event_id], wait, expected)
    if stored.request_digest != digest:
        raise InvalidInput(
            "Idempotency-Key was already used for a different clue; use a new key for a new clue",
            rule="idempotency_key_reused",
        )
    if stored.published_at is not None:
        return stored, True
    # A retry of a clue still waiting for Kafka: wait on it again (read after expecting it, so a publish
    # in between is seen either way).
    with relay.expecting([stored.event_id]) as expected:
        async with rt.pool.acquire() as conn:
            if await store.published_at(conn, stored.case_id) is not None:
                return stored, True
        return stored, await relay.wait_published([stored.event_id], wait, expected)


def _accepted(clue: store.AcceptedClue, published: bool) -> ClueAccepted:
    return ClueAccepted(
        case_id=clue.case_id,
        receipt_code=clue.receipt_code,
        event_id=clue.event_id,
        recorded_at=clue.recorded_at,
        status="published" if published else "pending",
    )


def tracer(rt: Runtime) -> Tracer:
    """The service's tracer, made once (``Runtime.tracer`` makes a new one on every call)."""
    found: Tracer | None = rt.state.get("intake.tracer")
    if found is None:
        found = rt.state["intake.tracer"] = rt.tracer
    return found


def http_router(settings: IntakeSettings, registry: JurisdictionRegistry) -> APIRouter:
    """``POST /v1/clues`` and ``GET /v1/receipts/{receipt_code}``."""
    router = APIRouter(prefix="/v1", tags=["intake"])
    sealer = FieldSealer.from_settings(settings.reporter_keys, settings.reporter_key_id)
    # Its $defs go to the document's components (cluetrail.service.document_problems), where they resolve.
    submission_schema: dict[str, Any] = ClueSubmission.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    policy = AccessPolicy(registry)

    @router.post(
        "/clues",
        status_code=202,
        response_model=ClueAccepted,
        responses={
            401: {"description": "An access token came with the clue and is not valid"},
            403: {"description": "The token is an auditor's, or does not cover the clue's jurisdiction"},
            413: {"description": "The body exceeds the configured size limit"},
        },
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": submission_schema}}},
            # The public reports without a token; an officer on patrol sends theirs.
            "security": [{BEARER_SCHEME: []}, {}],
        },
    )
    async def submit_clue(
        request: Request,
        idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
    ) -> Response:
        """Accept a clue (body: ClueSubmission). Answers 202 with status ``published`` once Kafka holds
        the clue durably; if Kafka does not answer within the wait, 202 with status ``pending`` and a
        ``Retry-After``: the clue is stored and goes to the case log as soon as Kafka answers (a retry with
        the same Idempotency-Key tells when, and never makes a second copy).

        The public reports without a token; an officer (a grid worker on patrol, say) sends theirs, is
        recorded as the clue's actor and may file clues only within their own subtree.
        """
        # The runtime is read directly rather than through a sync dependency, which FastAPI would run
        # in a worker thread on every request.
        rt = runtime_of(request)
        officer = optional_principal(request)
        submission = parse_submission(await read_body(request), registry)
        if officer is not None:
            policy.require_act(officer, submission.jurisdiction)
        digest = request_digest(submission)
        with tracer(rt).start_as_current_span("intake accept clue") as span:
            case_id = uuid7()
            receipt_code = new_receipt_code()
            event = clue_reported(
                submission,
                actor=officer.as_actor() if officer is not None else None,
                case_id=case_id,
                receipt_code=receipt_code,
                sealer=sealer,
                correlation_id=uuid7(),
                traceparent=current_traceparent(),
                now=utcnow(),
            )
            candidate = store.AcceptedClue(
                idempotency_key=idempotency_key,
                request_digest=digest,
                case_id=case_id,
                event_id=event.event_id,
                receipt_code=receipt_code,
                event=event_bytes(event),
                recorded_at=event.recorded_at,
            )
            stored, published = await store_and_wait(rt, candidate, digest, settings.publish_timeout_seconds)
            span.set_attribute("cluetrail.case_id", str(stored.case_id))
        # Encoded once here: through response_model FastAPI would validate and encode the answer again.
        answer = Response(
            _accepted(stored, published).model_dump_json(), status_code=202, media_type="application/json"
        )
        if not published:
            answer.headers["Retry-After"] = str(PENDING_RETRY_AFTER_SECONDS)
        return answer

    @router.get(
        "/receipts/{receipt_code}",
        response_model=ReceiptStatus,
        responses={
            400: {"description": "Not a receipt code (length, alphabet or check symbol)"},
            404: {"description": "No case has this receipt code"},
        },
    )
    async def receipt_status(
        receipt_code: str, conn: Annotated[asyncpg.Connection, Depends(connection)]
    ) -> ReceiptStatus:
        """The stage of handling of the case a receipt code belongs to, its history (stage and day) and the
        notices sent to its reporter; nothing else of the case."""
        code = normalise_receipt_code(receipt_code)
        if code is None:
            raise MalformedReceiptCode(
                "not a receipt code: 12 characters from 0-9 and A-Z without I, L, O, U "
                "(dashes optional), the last one a check symbol — check for a typo",
                rule="receipt_code_format",
            )
        found = await store.receipt_by_digest(conn, receipt_digest(code))
        if found is not None:
            return await receipt_view(conn, code, found)
        # Accepted, but the projection has not caught up (or Kafka has not answered yet): received.
        accepted = await store.clue_by_receipt(conn, code)
        if accepted is not None:
            on = accepted.recorded_at.astimezone(BEIJING).date()
            return ReceiptStatus(
                receipt_code=code,
                status="received",
                updated_at=accepted.recorded_at,
                history=[ReceiptStep(stage="received", label=STEP_LABELS["received"], on=on)],
            )
        raise NotFound("no case has this receipt code", rule="receipt_known")

    return router


# A merged case may itself be merged on: follow a few hops, never a loop.
MERGE_HOPS = 5


@dataclass(frozen=True)
class Since:
    """From when a case's notices are the reporter's: the instant its clue went into the case (a merge
    step's ``at``), or, for a step recorded before instants were kept, its day."""

    at: datetime | None
    on: date

    def covers(self, message: asyncpg.Record) -> bool:
        if self.at is not None:
            return bool(message["recorded_at"] >= self.at)
        return bool(message["on_day"] >= self.on)

    def later(self, other: Since) -> Since:
        """The later of the two: a clue is in a case only once it is in every case on the way to it."""
        if self.at is not None and other.at is not None:
            return self if self.at >= other.at else other
        return self if self.on >= other.on else other


def merged_since(steps: list[asyncpg.Record]) -> Since | None:
    """When the case was last merged into another, from its steps (None: never)."""
    merged = next((s for s in reversed(steps) if s["stage"] == "merged"), None)
    return None if merged is None else Since(merged["at"], merged["on_day"])


async def receipt_view(conn: asyncpg.Connection, code: str, found: store.Receipt) -> ReceiptStatus:
    """The receipt with its history and the notices to its reporter; a merged clue with the stage of the
    case it went into, and that case's notices to reporters from the instant of the merge on (notices to
    that case's own reporter earlier, even the same day, are not this reporter's)."""
    steps = await store.steps_of(conn, found.case_id)
    since: dict[uuid.UUID, Since] = {}
    merged_stage: str | None = None
    into = found.state.merged_into
    # A merge always shows a step; were it missing, every notice of the case would be shown, as before.
    joined = merged_since(steps) or Since(None, date.min)
    for _ in range(MERGE_HOPS):
        if into is None:
            break
        target = await store.receipt_by_case(conn, into, lock=False)
        if target is None:
            break
        since[target.case_id] = joined
        merged_stage = target.state.stage
        into = target.state.merged_into
        if into is not None:
            onward = merged_since(await store.steps_of(conn, target.case_id))
            joined = joined if onward is None else onward.later(joined)
    messages = [
        ReceiptMessage(text=m["text"], stage=m["stage"], on=m["on_day"])
        for m in await store.messages_of(conn, [found.case_id, *since])
        if m["case_id"] == found.case_id or since[m["case_id"]].covers(m)
    ]
    return ReceiptStatus(
        receipt_code=code,
        status=found.state.stage,
        reward_granted=found.state.reward_granted,
        updated_at=found.updated_at,
        history=[ReceiptStep(stage=s["stage"], label=s["label"], on=s["on_day"]) for s in steps],
        messages=messages,
        merged_case_status=merged_stage if merged_stage != "merged" else None,
    )


async def apply_to_receipts(conn: asyncpg.Connection, incoming: Incoming) -> None:
    """Fold one case event into the receipt projection (in the consumer's transaction)."""
    event = incoming.event
    if isinstance(event, ClueReported):
        # The usual case, a new case's first event, takes one statement; a case the projection already
        # holds (a repeat, a break) goes the general way below.
        with contextlib.suppress(ChainBroken):
            opening = follow(None, event)
            step = step_of(None, event)
            if (
                opening is not None
                and step is not None
                and await store.insert_new_receipt(
                    conn, event.payload.receipt_digest, event.case_id, opening, event.recorded_at, step
                )
            ):
                return
    current = await store.receipt_by_case(conn, event.case_id)
    before = None if current is None else current.state
    try:
        state = follow(before, event)
    except ChainBroken as exc:
        raise Rejected(str(exc)) from exc
    if state is None:
        return
    if isinstance(event, ClueReported):
        digest = event.payload.receipt_digest
    elif current is not None:
        digest = current.receipt_digest
    else:  # follow() admits no other first event; kept for the type checker
        raise Rejected(f"case {event.case_id}: no clue-reported before {event.type}")
    await store.save_receipt(conn, digest, event.case_id, state, event.recorded_at)
    step = step_of(before, event)
    if step is not None:
        await store.add_step(conn, event.case_id, event.seq, step)


async def apply_reporter_notice(conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
    """Keep notify's notices to a case's reporter (``reporter-update``) for its receipt; other notices are
    the offices' business and only advance the position."""
    try:
        notice = Notice.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise Rejected(f"not a notice: {exc.errors()[0]['msg']}") from exc
    if notice.kind != "reporter-update" or notice.case_id is None:
        return
    text = notice.facts.get("text")
    if not isinstance(text, str) or not text:
        raise Rejected(f"reporter notice {notice.notice_id} has no text")
    stage = notice.facts.get("stage")
    day = notice.facts.get("on")
    on_day = (
        date.fromisoformat(day) if isinstance(day, str) else notice.occurred_at.astimezone(BEIJING).date()
    )
    await store.add_message(
        conn,
        notice.notice_id,
        notice.case_id,
        stage if isinstance(stage, str) else None,
        text,
        on_day,
        notice.recorded_at,
    )


def kafka_routers(rt: Runtime) -> list[KafkaRouter]:
    """The receipt projection's subscribers: the case topic, and notify's notices to reporters."""
    notices = topic_consumer(rt, NOTICES_GROUP, notice_topic(rt.settings), apply_reporter_notice)
    return [
        case_events_router(rt, exactly_once_consumer(rt, RECEIPTS_GROUP, apply_to_receipts)),
        case_events_router(rt, notices),
    ]
