"""Notify's HTTP API: the delivery log and resends (officers, with a signed access token), the notices of a
case with their hashes, and acknowledgement by the recipient's own token.

Who sees what follows the jurisdiction rule (``cluetrail.auth``): auditors read everything and change
nothing; police read the deliveries addressed to police units in their area; every other officer reads
the deliveries and notices of cases in their subtree and those routed to the offices of their subtree
(where the case stands elsewhere: a handoff offered to their district). Only a district lead officer
resends, in what they read; a delivered notice only one by one. No reader is ever shown an
acknowledgement token: the acknowledgement is the recipient's alone.
"""

from __future__ import annotations

import html
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from cluetrail.auth import Principal, Role, current_principal
from cluetrail.errors import Forbidden, InvalidInput, NotFound, RuleViolation
from cluetrail.service import Runtime, connection, runtime_of
from contracts.jurisdictions import JurisdictionRegistry
from contracts.notices import Notice
from services.notify.adapters import acknowledgements, deliveries, notices
from services.notify.adapters.notifier import Notifier, RenderRefused
from services.notify.domain.access import Readers
from services.notify.domain.notice import beijing_time
from services.notify.domain.recipients import RECIPIENT_ID, RecipientBook
from services.notify.domain.signing import ack_expiry, check_ack_token, withhold_token

DeliveryStatus = Literal["pending", "delivered", "dead", "skipped"]
NOT_YOURS = "not within your jurisdiction"
# A recipient id as the recipients file allows it: a filter on anything else (U+0000 included, which
# PostgreSQL text cannot hold) is refused with 422 before it reaches SQL.
RecipientId = Annotated[str, StringConstraints(pattern=RECIPIENT_ID)]


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


class AckRequest(BaseModel):
    """The acknowledgement of a notice: the token from its ``acknowledge_url``."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AckAnswer(BaseModel):
    delivery_id: uuid.UUID
    recipient_id: str
    acknowledged_at: datetime


class NoticeView(Notice):
    """A notice as recorded, with its hash and the previous one's, and when it reached the notices topic."""

    published_at: datetime | None


# Module-level aliases: FastAPI resolves these annotations by name at import time.
Conn = Annotated[asyncpg.Connection, Depends(connection)]
Rt = Annotated[Runtime, Depends(runtime_of)]
Who = Annotated[Principal, Depends(current_principal)]
# Refusals the routes document; their bodies are ProblemDetail (cluetrail.service.document_problems).
NO_TOKEN: dict[int | str, dict[str, Any]] = {401: {"description": "No valid access token"}}
NOT_READABLE: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not within your jurisdiction (says nothing more)"}
}
UNKNOWN_DELIVERY: dict[int | str, dict[str, Any]] = {404: {"description": "No such delivery"}}
BULK_REFUSED: dict[int | str, dict[str, Any]] = {
    422: {"description": "No recipient_id or case_id, status delivered, or a field the body does not have"}
}


def _page_or_problem(description: str) -> dict[str, Any]:
    """A refusal of an acknowledgement route: a problem body, or a page for a browser (Accept: text/html)."""
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }


ACK_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: _page_or_problem("The token does not acknowledge this delivery"),
    404: _page_or_problem("No such delivery"),
    409: _page_or_problem("The delivery is not delivered (pending, dead or skipped): nothing to acknowledge"),
    410: _page_or_problem("The acknowledgement link has expired; a resend of the notice brings a new one"),
}
RESEND_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "Only a district lead officer resends, in their own subtree"},
    409: {"description": "Still pending, a receipt notice, or its notice still cannot be written"},
}


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


def http_router(notifier: Notifier, registry: JurisdictionRegistry) -> APIRouter:
    book = notifier.book
    readers = Readers(registry, book)
    router = APIRouter(tags=["deliveries"])

    async def readable_delivery(
        conn: asyncpg.Connection, principal: Principal, delivery_id: uuid.UUID
    ) -> asyncpg.Record:
        row = await deliveries.get_delivery(conn, delivery_id)
        # An unknown delivery answers a non-auditor exactly like one elsewhere.
        if row is None and principal.role is Role.AUDITOR:
            raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
        if row is None or not readers.may_read(principal, row):
            raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
        return row

    @router.get("/v1/deliveries", response_model=list[DeliveryView], responses={**NO_TOKEN, **NOT_READABLE})
    async def list_deliveries(
        conn: Conn,
        who: Who,
        case_id: uuid.UUID | None = None,
        status: DeliveryStatus | None = None,
        recipient_id: Annotated[str | None, Query(pattern=RECIPIENT_ID)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, object]]:
        """The delivery log of a case (or of everything the caller may read), in case order: the case's
        events by seq, then notify's notices of the case by seq."""
        rows = await deliveries.find_deliveries(
            conn,
            case_id=case_id,
            status=status,
            limit=limit,
            recipient_id=recipient_id,
            visible=readers.visible(who),
        )
        return [_view(r, book) for r in rows]

    @router.get(
        "/v1/deliveries/{delivery_id}",
        response_model=DeliveryDetail,
        responses={**NO_TOKEN, **NOT_READABLE, **UNKNOWN_DELIVERY},
    )
    async def get_delivery(delivery_id: uuid.UUID, conn: Conn, who: Who) -> dict[str, object]:
        """One delivery with every attempt made and the body sent (its acknowledgement token withheld)."""
        row = await readable_delivery(conn, who, delivery_id)
        attempts = await deliveries.attempts_of(conn, delivery_id)
        return {
            **_view(row, book),
            "body": withheld(row["body"], row),
            "attempt_log": [dict(a) for a in attempts],
        }

    async def resend_one(conn: asyncpg.Connection, row: asyncpg.Record) -> tuple[bool, str | None]:
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

    def wake(rt: Runtime) -> None:
        worker = rt.state.get("worker")
        if worker is not None:
            worker.wake()

    @router.post(
        "/v1/deliveries/resend",
        status_code=202,
        response_model=BulkResendAnswer,
        responses={**NO_TOKEN, **RESEND_REFUSED, **BULK_REFUSED},
    )
    async def resend_many(body: BulkResend, conn: Conn, rt: Rt, who: Who) -> BulkResendAnswer:
        """Send again every dead (or skipped) delivery to a recipient and/or of a case in the lead
        officer's subtree (same delivery ids; each case's later notices wait for its earlier ones). An
        empty selection and ``status: delivered`` are refused with 422 naming the rule."""
        readers.policy.require_act(who, who.jurisdiction, Role.DISTRICT_LEAD_OFFICER)
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
                visible=readers.visible(who),
                limit=body.limit,
            )
            for row in rows:
                _, reason = await resend_one(conn, row)
                if reason is None:
                    resent.append(row["delivery_id"])
                else:
                    refused.append(Refusal(delivery_id=row["delivery_id"], reason=reason))
        wake(rt)
        return BulkResendAnswer(resent=resent, refused=refused)

    @router.post(
        "/v1/deliveries/{delivery_id}/resend",
        status_code=202,
        response_model=ResendAnswer,
        responses={**NO_TOKEN, **UNKNOWN_DELIVERY, **RESEND_REFUSED},
    )
    async def resend(delivery_id: uuid.UUID, conn: Conn, rt: Rt, who: Who) -> ResendAnswer:
        """Send a finished delivery again (same delivery id, fresh attempt budget); one whose notice could
        not be written is written again first, and refused while its template still fails."""
        readers.policy.require_act(who, who.jurisdiction, Role.DISTRICT_LEAD_OFFICER)
        async with conn.transaction():
            row = await deliveries.lock_delivery(conn, delivery_id)
            if row is None or not readers.may_read(who, row):
                raise Forbidden(NOT_YOURS, rule="jurisdiction-subtree")
            rendered, reason = await resend_one(conn, row)
        if reason is not None:
            rule = "resend-finished-only" if row["status"] == "pending" else "resend-refused"
            raise RuleViolation(f"delivery {delivery_id} is not resent: {reason}", rule=rule)
        wake(rt)
        return ResendAnswer(
            delivery_id=delivery_id,
            status="pending",
            previous_status=row["status"],
            rendered_again=rendered,
        )

    async def acknowledge(
        conn: asyncpg.Connection, delivery_id: uuid.UUID, token: str | None, *, record: bool
    ) -> tuple[asyncpg.Record, datetime | None]:
        row = await deliveries.get_delivery(conn, delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
        recipient = book.get(row["recipient_id"])
        check = (
            "wrong"
            if recipient is None
            else check_ack_token(recipient.secrets, str(delivery_id), token, time.time())
        )
        if check == "wrong":
            raise Forbidden(
                f"the token does not acknowledge delivery {delivery_id}", rule="acknowledge-with-token"
            )
        if check == "expired":
            raise LinkExpired(delivery_id, datetime.fromtimestamp(ack_expiry(token or "") or 0, UTC))
        if row["status"] != "delivered":
            raise RuleViolation(
                f"delivery {delivery_id} is {row['status']}, not delivered: there is nothing to acknowledge",
                rule="acknowledge-delivered-only",
            )
        if not record:
            return row, await acknowledgements.acknowledged_at(conn, delivery_id)
        async with conn.transaction():
            at = await acknowledgements.acknowledge(conn, delivery_id)
        return row, at

    @router.get(
        "/v1/deliveries/{delivery_id}/ack",
        response_class=HTMLResponse,
        responses=ACK_REFUSALS,
    )
    async def acknowledgement_page(
        delivery_id: uuid.UUID,
        request: Request,
        conn: Conn,
        token: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        """The signed link in a notice: a page to confirm receipt. Opening it acknowledges nothing (mail
        scanners open links); its button POSTs the acknowledgement. A browser is answered a refusal as a
        page in Chinese (an expired link: 410), anyone else as a problem."""
        try:
            row, at = await acknowledge(conn, delivery_id, token, record=False)
        except RuleViolation as exc:
            return refused_page(request, exc)
        return HTMLResponse(page(row, token or "", at))

    @router.post(
        "/v1/deliveries/{delivery_id}/ack",
        response_model=AckAnswer,
        responses={
            200: {"content": {"text/html": {}}, "description": "Acknowledged (a page, for the form)"},
            **ACK_REFUSALS,
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": AckRequest.model_json_schema()},
                    "application/x-www-form-urlencoded": {"schema": AckRequest.model_json_schema()},
                },
            }
        },
    )
    async def acknowledge_notice(delivery_id: uuid.UUID, request: Request, conn: Conn) -> Response:
        """A recipient acknowledges a delivered notice with the token it came with (JSON, or the form of
        the link's page); one acknowledgement covers every channel the notice went out on."""
        form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
        raw = await request.body()
        ack = parse_ack(raw, form)
        try:
            row, at = await acknowledge(conn, delivery_id, ack.token, record=True)
            if at is None:  # the delivery vanished meanwhile: nothing deletes deliveries, so never seen
                raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
        except RuleViolation as exc:
            return refused_page(request, exc)
        if form:
            return HTMLResponse(page(row, ack.token, at))
        answer = AckAnswer(delivery_id=delivery_id, recipient_id=row["recipient_id"], acknowledged_at=at)
        return JSONResponse(answer.model_dump(mode="json"))

    @router.get(
        "/v1/notices",
        response_model=list[NoticeView],
        tags=["notices"],
        responses={**NO_TOKEN, **NOT_READABLE},
    )
    async def list_notices(
        conn: Conn,
        who: Who,
        case_id: uuid.UUID | None = None,
        stream: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, object]]:
        """Notify's notices of a case (reminders, unacknowledged escalations, delivery alerts, reporter
        notices) or of a stream, in chain order, each with its hash and the previous one's: check them
        with ``cluetrail notify verify-notices``."""
        if case_id is None and stream is None:
            raise InvalidInput("name a case_id or a stream", rule="notices-of-a-case")
        rows = await notices.find_notices(
            conn, case_id=case_id, stream=stream, visible=readers.visible(who), limit=limit
        )
        return [{**json.loads(bytes(r["document"])), "published_at": r["published_at"]} for r in rows]

    return router


class LinkExpired(RuleViolation):
    """An acknowledgement token past its expiry: the link is gone, a resend of the notice brings a new one."""

    status_code = 410

    def __init__(self, delivery_id: uuid.UUID, expired_at: datetime) -> None:
        super().__init__(
            f"the acknowledgement link of delivery {delivery_id} expired at {expired_at.isoformat()}; "
            "a resend of the notice brings a new link",
            rule="acknowledge-before-expiry",
        )
        self.expired_at = expired_at


# What a person who opened an acknowledgement link in a browser is told, by the rule refusing it.
REFUSAL_TEXTS = {
    "delivery-exists": "没有这条通知，请核对链接是否完整。",
    "acknowledge-with-token": "确认链接无效，请使用通知中的原链接。",
    "acknowledge-delivered-only": "这条通知尚未送达，无需确认。",
}


def refused_page(request: Request, exc: RuleViolation) -> Response:
    """A refusal of the acknowledgement routes: a page in Chinese for a browser, else raised again (the
    service answers the problem body)."""
    if "text/html" not in request.headers.get("accept", ""):
        raise exc
    if isinstance(exc, LinkExpired):
        until = html.escape(beijing_time(exc.expired_at))
        text = f"确认链接已于 {until} 过期。请联系发送通知的单位重新发送，重发的通知附有新的确认链接。"
    else:
        text = html.escape(REFUSAL_TEXTS.get(exc.rule or "", "无法确认这条通知。"))
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>无法确认通知</title></head>'
        f"<body><h1>无法确认通知</h1><p>{text}</p></body></html>"
    )
    return HTMLResponse(body, status_code=exc.status_code)


def parse_ack(raw: bytes, form: bool) -> AckRequest:
    """The token of an acknowledgement, from JSON or from the page's form; 422 naming what is wrong."""
    try:
        if form:
            # Strict: a percent-escape that is not UTF-8 is refused, not turned into U+FFFD.
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
            return AckRequest.model_validate({k: v[0] for k, v in fields.items()})
        return AckRequest.model_validate_json(raw)
    except UnicodeDecodeError:
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "the body is not UTF-8 text", "type": "value_error"}]
        ) from None
    except ValidationError as exc:
        # Without the input: it may be bytes that are not text (the problem body could not hold them), and
        # a body is never echoed or logged.
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None


def page(row: asyncpg.Record, token: str, acknowledged_at: datetime | None) -> str:
    """The small page of an acknowledgement link: the notice, and a button (or when it was confirmed)."""
    text = notice_text(row["body"])
    delivery_id = html.escape(str(row["delivery_id"]))
    if acknowledged_at is not None:
        action = f"<p>已于 {html.escape(acknowledged_at.isoformat())} 确认收到。</p>"
    else:
        action = (
            f'<form method="post" action="/v1/deliveries/{delivery_id}/ack">'
            f'<input type="hidden" name="token" value="{html.escape(token)}">'
            '<button type="submit">确认收到</button></form>'
        )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>确认收到通知</title></head>'
        f"<body><h1>确认收到通知</h1><p>通知编号：{delivery_id}</p><pre>{html.escape(text)}</pre>"
        f"{action}</body></html>"
    )


def notice_text(body: str) -> str:
    """The readable text of a stored body, without its own acknowledgement line."""
    try:
        document = json.loads(body)
    except ValueError:
        return ""
    text = str(document.get("text", "")) if isinstance(document, dict) else ""
    return text.split("\n\n通知编号：")[0]
