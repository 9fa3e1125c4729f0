"""Notify's handlers: the case-event subscriber that decides deliveries, and the delivery-log HTTP API."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from faststream.kafka import KafkaRouter
from pydantic import BaseModel

from cluetrail.consume import Apply, Incoming, Rejected
from cluetrail.errors import Forbidden, NotFound, RuleViolation
from cluetrail.service import Runtime, case_events_router, connection, exactly_once_consumer, runtime_of
from cluetrail.telemetry import current_traceparent
from contracts.envelope import uuid7
from contracts.jurisdictions import JurisdictionError
from services.notify import store
from services.notify.domain.cases import fold
from services.notify.domain.notice import (
    TemplateError,
    channel_message,
    notice_body,
    render_notice,
)
from services.notify.domain.recipients import ROUTED_EVENTS, RecipientBook
from services.notify.domain.signing import ack_token_valid
from services.notify.notices import Notifier

CONSUMER_GROUP = "notify"
DeliveryStatus = Literal["pending", "delivered", "dead"]


# Notices of a key case of these types must be acknowledged, or they go up a level.
ACKNOWLEDGED_TYPES = frozenset({"escalated", "key-case-flagged", "handoff-requested"})


def deciding_deliveries(notifier: Notifier) -> Apply:
    """The consumer's apply step: fold the case's facts, then one delivery per matching recipient and
    channel, stored with the position. Types notify does not route are history: only the facts move."""

    book, registry, templates = notifier.book, notifier.registry, notifier.templates

    async def apply(conn: asyncpg.Connection, incoming: Incoming) -> None:
        event = incoming.event
        before = await store.load_case(conn, event.case_id)
        facts = fold(before, event)
        if facts is before:
            return  # an event of this case applied before (e.g. replayed from another partition offset)
        await store.save_case(conn, facts)
        try:
            routings = book.routings_for(event, facts.responsible_department)
        except JurisdictionError as exc:
            raise Rejected(
                f"cannot route {event.type} of case {event.case_id} seq {event.seq}: {exc}"
            ) from exc
        # The consumer's span continues the event's trace; deliveries keep it for the sends later.
        traceparent = current_traceparent() or event.traceparent
        needs_ack = facts.key_case and event.type in ACKNOWLEDGED_TYPES
        for routing in routings:
            for channel in routing.channels:
                delivery_id = uuid7()
                failure: str | None = None
                try:
                    document = render_notice(event, routing.recipient, registry, delivery_id, templates)
                    if needs_ack:
                        document["acknowledge_url"] = notifier.ack_url(routing.recipient, delivery_id)
                    body = channel_message(channel, routing.recipient, document).body
                except TemplateError as exc:
                    # One broken template kills this delivery (dead letter, alert), not the others.
                    failure, body = str(exc), notice_body({"event_id": str(event.event_id)})
                await store.add_delivery(
                    conn,
                    store.NewDelivery(
                        delivery_id=delivery_id,
                        event_id=event.event_id,
                        recipient_id=routing.recipient.id,
                        case_id=event.case_id,
                        seq=event.seq,
                        event_type=event.type,
                        jurisdiction=event.jurisdiction,
                        body=body,
                        traceparent=traceparent,
                        channel=channel,
                        failure=failure,
                        needs_ack=needs_ack,
                    ),
                )

    return apply


def kafka_routers(notifier: Notifier) -> Callable[[Runtime], list[KafkaRouter]]:
    """Build the case-event subscriber for a runtime (called by the service lifespan)."""

    def build(rt: Runtime) -> list[KafkaRouter]:
        consumer = exactly_once_consumer(rt, CONSUMER_GROUP, deciding_deliveries(notifier))
        rt.state["consumer"] = consumer

        def wake_worker(applied: list[Incoming]) -> None:
            worker = rt.state.get("worker")
            if worker is not None and any(i.event.type in ROUTED_EVENTS for i in applied):
                worker.wake()

        return [case_events_router(rt, consumer, after=wake_worker)]

    return build


class DeliveryView(BaseModel):
    """One delivery as the delivery log shows it."""

    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    case_id: uuid.UUID
    seq: int
    jurisdiction: str
    recipient_id: str
    recipient_name: str | None
    channel: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    dead_at: datetime | None
    resent_at: datetime | None
    needs_ack: bool
    acknowledged_at: datetime | None
    ack_escalated_at: datetime | None


class AttemptView(BaseModel):
    """One POST to a recipient's webhook and what came of it."""

    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryDetail(DeliveryView):
    """A delivery with its full attempt log and the notice body as sent."""

    body: str
    attempt_log: list[AttemptView]


def _view(row: asyncpg.Record, book: RecipientBook) -> dict[str, object]:
    recipient = book.get(row["recipient_id"])
    return {
        **dict(row),
        "recipient_name": recipient.name if recipient else None,
        "next_attempt_at": row["next_attempt_at"] if row["status"] == "pending" else None,
    }


def book_of(request: Request) -> RecipientBook:
    """FastAPI dependency: the recipients the service started with."""
    book: RecipientBook = runtime_of(request).state["book"]
    return book


# Module-level aliases: FastAPI resolves these annotations by name at import time.
Conn = Annotated[asyncpg.Connection, Depends(connection)]
Book = Annotated[RecipientBook, Depends(book_of)]
Rt = Annotated[Runtime, Depends(runtime_of)]
# Refusals the routes document; their bodies are ProblemDetail (cluetrail.service.document_problems).
UNKNOWN_DELIVERY: dict[int | str, dict[str, Any]] = {404: {"description": "No such delivery"}}
WRONG_TOKEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "The token does not acknowledge this delivery"}
}


def http_router() -> APIRouter:
    router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])

    @router.get("", response_model=list[DeliveryView])
    async def list_deliveries(
        conn: Conn,
        book: Book,
        case_id: uuid.UUID | None = None,
        status: DeliveryStatus | None = None,
        recipient_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, object]]:
        """Deliveries of a case (or all), in event order, with attempts and status."""
        rows = await store.find_deliveries(
            conn, case_id=case_id, status=status, limit=limit, recipient_id=recipient_id
        )
        return [_view(r, book) for r in rows]

    @router.get("/{delivery_id}", response_model=DeliveryDetail, responses=UNKNOWN_DELIVERY)
    async def get_delivery(delivery_id: uuid.UUID, conn: Conn, book: Book) -> dict[str, object]:
        """One delivery with every attempt made."""
        row = await store.get_delivery(conn, delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
        attempts = await store.attempts_of(conn, delivery_id)
        return {**_view(row, book), "attempt_log": [dict(a) for a in attempts]}

    @router.post(
        "/{delivery_id}/resend",
        status_code=202,
        responses={**UNKNOWN_DELIVERY, 409: {"description": "The delivery is still pending"}},
    )
    async def resend(delivery_id: uuid.UUID, conn: Conn, rt: Rt) -> JSONResponse:
        """Send a delivered or dead delivery again (same delivery id, fresh attempt budget)."""
        async with conn.transaction():
            previous = await store.reopen_for_resend(conn, delivery_id)
        if previous is None:
            raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
        if previous == "pending":
            raise RuleViolation(
                f"delivery {delivery_id} is still pending; only delivered or dead deliveries are resent",
                rule="resend-finished-only",
            )
        worker = rt.state.get("worker")
        if worker is not None:
            worker.wake()
        return JSONResponse(
            status_code=202,
            content={"delivery_id": str(delivery_id), "status": "pending", "previous_status": previous},
        )

    async def _acknowledge(
        delivery_id: uuid.UUID, token: str | None, conn: asyncpg.Connection, book: RecipientBook
    ) -> dict[str, object]:
        row = await store.get_delivery(conn, delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
        recipient = book.get(row["recipient_id"])
        if recipient is None or not ack_token_valid(recipient.secret, str(delivery_id), token):
            raise Forbidden(
                f"the token does not acknowledge delivery {delivery_id}", rule="acknowledge-with-token"
            )
        async with conn.transaction():
            at = await store.acknowledge(conn, delivery_id)
        return {"delivery_id": str(delivery_id), "recipient_id": row["recipient_id"], "acknowledged_at": at}

    @router.post("/{delivery_id}/ack", responses={**UNKNOWN_DELIVERY, **WRONG_TOKEN})
    async def acknowledge(
        delivery_id: uuid.UUID, body: AckRequest, conn: Conn, book: Book
    ) -> dict[str, object]:
        """A recipient acknowledges a notice with the token it came with (one acknowledgement covers
        every channel the notice went out on)."""
        return await _acknowledge(delivery_id, body.token, conn, book)

    @router.get("/{delivery_id}/ack", responses={**UNKNOWN_DELIVERY, **WRONG_TOKEN})
    async def acknowledge_by_link(
        delivery_id: uuid.UUID, conn: Conn, book: Book, token: str | None = None
    ) -> dict[str, object]:
        """The signed link in a notice: opening it acknowledges the notice."""
        return await _acknowledge(delivery_id, token, conn, book)

    return router


class AckRequest(BaseModel):
    """The acknowledgement of a notice: the token from its ``acknowledge_url``."""

    token: str
