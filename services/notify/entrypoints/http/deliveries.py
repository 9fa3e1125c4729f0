"""The delivery log (officers, with a signed access token): ``GET /v1/deliveries`` in case order and
``GET /v1/deliveries/{id}`` with every attempt and the body sent.

Who reads what follows the jurisdiction rule (``services.notify.domain.access``): auditors read everything;
police the deliveries addressed to police units in their area; every other officer the deliveries of cases
in their subtree and those routed to the offices of their subtree (where the case stands elsewhere: a
handoff offered to their district). No reader is ever shown an acknowledgement token: the acknowledgement
is the recipient's alone.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from cluetrail.auth import Principal, Role, current_principal
from cluetrail.errors import Forbidden, NotFound
from cluetrail.service import Connection
from services.notify.adapters import deliveries
from services.notify.dependencies import Deps, NotifyDeps
from services.notify.domain.recipients import RECIPIENT_ID, RecipientBook
from services.notify.domain.signing import withhold_token

DeliveryStatus = Literal["pending", "delivered", "dead", "skipped"]
NOT_YOURS = "not within your jurisdiction"
# The caller, from the access token (401 without a valid one).
Who = Annotated[Principal, Depends(current_principal)]
# Refusals the routes document; their bodies are ProblemDetail (cluetrail.service.document_problems).
NO_TOKEN: dict[int | str, dict[str, Any]] = {401: {"description": "No valid access token"}}
NOT_READABLE: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not within your jurisdiction (says nothing more)"}
}
UNKNOWN_DELIVERY: dict[int | str, dict[str, Any]] = {404: {"description": "No such delivery"}}

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


class DeliveryView(BaseModel):
    """One delivery as the delivery log shows it. ``origin`` says which ordering ``seq`` belongs to: the
    case's events (``event``) or notify's notices of the case (``notice``)."""

    delivery_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    case_id: uuid.UUID
    origin: Literal["event", "notice"]
    seq: int
    jurisdiction: str
    recipient_id: str
    recipient_name: str | None
    channel: str
    status: DeliveryStatus
    attempts: int = Field(
        description="Attempts made, each counted before it was made (so also one cut short)"
    )
    last_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    dead_at: datetime | None
    resent_at: datetime | None
    needs_ack: bool
    acknowledged_at: datetime | None
    ack_escalated_at: datetime | None
    waiting_for: uuid.UUID | None = Field(
        default=None, description="The earlier unfinished delivery of the case to the recipient it waits on"
    )


class AttemptView(BaseModel):
    """One attempt to reach a recipient and what came of it."""

    attempt: int
    at: datetime
    settled: bool = Field(
        description="False while the attempt is under way, or for good when notify stopped during it: "
        "the attempt was made, and what came of it is not known"
    )
    status_code: int | None
    error: str | None
    duration_ms: int | None


class DeliveryDetail(DeliveryView):
    """A delivery with its full attempt log and the notice body as sent (acknowledgement token withheld)."""

    body: str
    attempt_log: list[AttemptView]


def _view(row: asyncpg.Record, book: RecipientBook) -> dict[str, object]:
    recipient = book.get(row["recipient_id"])
    return {
        **dict(row),
        "recipient_name": recipient.name if recipient else None,
        "next_attempt_at": row["next_attempt_at"] if row["status"] == "pending" else None,
    }


def withheld(body: str, row: asyncpg.Record) -> str:
    """The body as a reader may see it: the acknowledgement token is the recipient's alone."""
    return withhold_token(body) if row["needs_ack"] else body


async def readable_delivery(
    conn: asyncpg.Connection, deps: NotifyDeps, principal: Principal, delivery_id: uuid.UUID
) -> asyncpg.Record:
    """The delivery, if ``principal`` reads it; an unknown delivery answers a non-auditor exactly like one
    elsewhere (403)."""
    row = await deliveries.get_delivery(conn, delivery_id)
    if row is None and principal.role is Role.AUDITOR:
        raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
    if row is None or not deps.readers.may_read(principal, row):
        raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
    return row


@router.get("", response_model=list[DeliveryView], responses={**NO_TOKEN, **NOT_READABLE})
async def list_deliveries(
    conn: Connection,
    deps: Deps,
    who: Who,
    case_id: uuid.UUID | None = None,
    status: DeliveryStatus | None = None,
    recipient_id: Annotated[str | None, Query(pattern=RECIPIENT_ID)] = None,
    awaiting_ack: Annotated[
        bool | None,
        Query(description="Only deliveries delivered and not acknowledged yet (true), or only the others"),
    ] = None,
    order: Annotated[
        Literal["case", "latest"],
        Query(
            description="case: each case's events by seq, then its notices (the log); latest: the last "
            "delivered first (an inbox)"
        ),
    ] = "case",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, object]]:
    """The delivery log of a case (or of everything the caller may read), in case order: the case's
    events by seq, then notify's notices of the case by seq (``order=latest``: the last delivered first)."""
    rows = await deliveries.find_deliveries(
        conn,
        case_id=case_id,
        status=status,
        limit=limit,
        recipient_id=recipient_id,
        visible=deps.readers.visible(who),
        awaiting_ack=awaiting_ack,
        latest_first=order == "latest",
    )
    return [_view(r, deps.book) for r in rows]


@router.get(
    "/{delivery_id}",
    response_model=DeliveryDetail,
    responses={**NO_TOKEN, **NOT_READABLE, **UNKNOWN_DELIVERY},
)
async def get_delivery(delivery_id: uuid.UUID, conn: Connection, deps: Deps, who: Who) -> dict[str, object]:
    """One delivery with every attempt made and the body sent (its acknowledgement token withheld)."""
    row = await readable_delivery(conn, deps, who, delivery_id)
    attempts = await deliveries.attempts_of(conn, delivery_id)
    return {
        **_view(row, deps.book),
        "body": withheld(row["body"], row),
        "attempt_log": [dict(a) for a in attempts],
    }
