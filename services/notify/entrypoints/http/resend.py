"""Resending finished deliveries (a district lead officer's token, on deliveries they read; auditors change
nothing): one by its id, ``POST /v1/deliveries/{id}/resend``, or in bulk, ``POST /v1/deliveries/resend``.
A resend keeps the delivery id and gets a fresh retry window; a delivered notice is resent one by one only.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cluetrail.auth import Role
from cluetrail.errors import Forbidden, InvalidInput, RuleViolation
from cluetrail.service import Connection
from services.notify.adapters import deliveries
from services.notify.adapters.notifier import Notifier, RenderRefused
from services.notify.dependencies import Deps
from services.notify.domain.recipients import RECIPIENT_ID
from services.notify.entrypoints.http.deliveries import (
    NO_TOKEN,
    NOT_YOURS,
    UNKNOWN_DELIVERY,
    DeliveryStatus,
    Who,
)

# A recipient id as the recipients file allows it: a filter on anything else (U+0000 included, which
# PostgreSQL text cannot hold) is refused with 422 before it reaches SQL.
RecipientId = Annotated[str, StringConstraints(pattern=RECIPIENT_ID)]
RESEND_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only a district lead officer resends, in their own subtree"},
    409: {"description": "Still pending, a receipt notice, or its notice still cannot be written"},
}
BULK_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"description": "No recipient_id or case_id, status delivered, or a field the body does not have"}
}

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


class ResendAnswer(BaseModel):
    delivery_id: uuid.UUID
    status: Literal["pending"]
    previous_status: DeliveryStatus
    rendered_again: bool


class BulkResend(BaseModel):
    """Which finished deliveries to send again: every one of ``status`` (dead by default, or skipped) to a
    recipient, of a case, or both, in the lead officer's subtree. A selection must name a recipient or a
    case: an empty one would resend the whole subtree. A delivered notice is never resent in bulk (its
    recipient has it): only one by one, ``POST /v1/deliveries/{id}/resend``, when a recipient asks."""

    model_config = ConfigDict(extra="forbid")

    recipient_id: RecipientId | None = None
    case_id: uuid.UUID | None = None
    status: Literal["dead", "delivered", "skipped"] = Field(
        "dead", description="dead or skipped; delivered is refused (resend a delivered notice one by one)"
    )
    limit: int = Field(500, ge=1, le=5000)


class Refusal(BaseModel):
    delivery_id: uuid.UUID
    reason: str


class BulkResendAnswer(BaseModel):
    resent: list[uuid.UUID]
    refused: list[Refusal]


async def resend_one(
    conn: asyncpg.Connection, notifier: Notifier, row: asyncpg.Record
) -> tuple[bool, str | None]:
    """Reopen one locked, finished delivery; (written again, None) or (False, why not). Its
    acknowledgement link, if any, is renewed: the resent notice's link works as long as a new one."""
    if row["status"] == "pending":
        return False, "still pending; only delivered, dead or skipped deliveries are resent"
    if row["channel"] == "receipt":
        return False, "a reporter's notice is on the notices topic once; there is nothing to resend"
    rendered_again = not row["rendered"]
    body: str | None = notifier.renew_ack(row)
    if rendered_again:
        try:
            body = await notifier.render_again(conn, row)
        except RenderRefused as exc:
            return False, str(exc)
    await deliveries.reopen_for_resend(conn, row["delivery_id"], body)
    return rendered_again, None


@router.post(
    "/resend",
    status_code=202,
    response_model=BulkResendAnswer,
    responses={**NO_TOKEN, **RESEND_REFUSED, **BULK_REFUSED},
)
async def resend_many(body: BulkResend, conn: Connection, deps: Deps, who: Who) -> BulkResendAnswer:
    """Send again every dead (or skipped) delivery to a recipient and/or of a case in the lead
    officer's subtree (same delivery ids; each case's later notices wait for its earlier ones). An
    empty selection and ``status: delivered`` are refused with 422 naming the rule."""
    deps.readers.policy.require_act(who, who.jurisdiction, Role.DISTRICT_LEAD_OFFICER)
    if body.recipient_id is None and body.case_id is None:
        raise InvalidInput(
            "name a recipient_id, a case_id or both: a bulk resend never takes a whole subtree",
            rule="resend-needs-a-selection",
        )
    if body.status == "delivered":
        raise InvalidInput(
            "delivered notices are not resent in bulk (their recipients have them): resend each one "
            "a recipient asks for with POST /v1/deliveries/{id}/resend",
            rule="resend-delivered-one-by-one",
        )
    resent: list[uuid.UUID] = []
    refused: list[Refusal] = []
    async with conn.transaction():
        rows = await deliveries.find_for_resend(
            conn,
            status=body.status,
            recipient_id=body.recipient_id,
            case_id=body.case_id,
            visible=deps.readers.visible(who),
            limit=body.limit,
        )
        for row in rows:
            _, reason = await resend_one(conn, deps.notifier, row)
            if reason is None:
                resent.append(row["delivery_id"])
            else:
                refused.append(Refusal(delivery_id=row["delivery_id"], reason=reason))
    deps.worker.wake()
    return BulkResendAnswer(resent=resent, refused=refused)


@router.post(
    "/{delivery_id}/resend",
    status_code=202,
    response_model=ResendAnswer,
    responses={**NO_TOKEN, **UNKNOWN_DELIVERY, **RESEND_REFUSED},
)
async def resend(delivery_id: uuid.UUID, conn: Connection, deps: Deps, who: Who) -> ResendAnswer:
    """Send a finished delivery again (same delivery id, fresh attempt budget); one whose notice could
    not be written is written again first, and refused while its template still fails."""
    deps.readers.policy.require_act(who, who.jurisdiction, Role.DISTRICT_LEAD_OFFICER)
    async with conn.transaction():
        row = await deliveries.lock_delivery(conn, delivery_id)
        if row is None or not deps.readers.may_read(who, row):
            raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
        rendered, reason = await resend_one(conn, deps.notifier, row)
    if reason is not None:
        rule = "resend-finished-only" if row["status"] == "pending" else "resend-refused"
        raise RuleViolation(f"delivery {delivery_id} is not resent: {reason}", rule=rule)
    deps.worker.wake()
    return ResendAnswer(
        delivery_id=delivery_id,
        status="pending",
        previous_status=row["status"],
        rendered_again=rendered,
    )
