"""Acknowledgement of a notice by its recipient, with the token of the notice's ``acknowledge_url`` (no
login): ``GET /v1/deliveries/{id}/ack`` shows a confirmation page and acknowledges nothing (mail scanners
open links); its button, or a JSON ``POST`` to the same path, acknowledges, for every channel the notice went
out on. Whatever reaches these routes is answered with a 4xx and a problem body (a page in Chinese, for a
browser), never a 500.
"""

from __future__ import annotations

import html
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from cluetrail.errors import Forbidden, NotFound, RuleViolation
from cluetrail.service import Connection
from services.notify.adapters import acknowledgements, deliveries
from services.notify.adapters.notifier import Notifier
from services.notify.dependencies import Deps
from services.notify.domain.notice import beijing_time
from services.notify.domain.recipients import RecipientBook
from services.notify.domain.signing import ack_expiry, check_ack_token
from services.notify.entrypoints.regions import acknowledged

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])


class AckRequest(BaseModel):
    """The acknowledgement of a notice: the token from its ``acknowledge_url``."""

    model_config = ConfigDict(extra="forbid")

    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AckAnswer(BaseModel):
    delivery_id: uuid.UUID
    recipient_id: str
    acknowledged_at: datetime


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


async def acknowledge(
    conn: asyncpg.Connection,
    book: RecipientBook,
    delivery_id: uuid.UUID,
    token: str | None,
    *,
    record: Notifier | None,
) -> tuple[asyncpg.Record, datetime | None]:
    """Check ``token`` for the delivered notice of ``delivery_id``; with a notifier to ``record`` with,
    acknowledge it (a cross-region notice's acknowledgement is recorded as a notice to the region that
    raised it, in the same transaction). The delivery and when its notice was first acknowledged (None:
    not yet)."""
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
    if record is None:
        return row, await acknowledgements.acknowledged_at(conn, delivery_id)
    async with conn.transaction():
        at = await acknowledgements.acknowledge(conn, delivery_id)
        if at is not None and recipient is not None:
            await acknowledged(conn, record, row, recipient, at)
    return row, at


@router.get(
    "/{delivery_id}/ack",
    response_class=HTMLResponse,
    responses=ACK_REFUSALS,
)
async def acknowledgement_page(
    delivery_id: uuid.UUID,
    request: Request,
    conn: Connection,
    deps: Deps,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    """The signed link in a notice: a page to confirm receipt. Opening it acknowledges nothing (mail
    scanners open links); its button POSTs the acknowledgement. A browser is answered a refusal as a
    page in Chinese (an expired link: 410), anyone else as a problem."""
    try:
        row, at = await acknowledge(conn, deps.book, delivery_id, token, record=None)
    except RuleViolation as exc:
        return refused_page(request, exc)
    return HTMLResponse(page(row, token or "", at))


@router.post(
    "/{delivery_id}/ack",
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
async def acknowledge_notice(
    delivery_id: uuid.UUID, request: Request, conn: Connection, deps: Deps
) -> Response:
    """A recipient acknowledges a delivered notice with the token it came with (JSON, or the form of
    the link's page); one acknowledgement covers every channel the notice went out on."""
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    raw = await request.body()
    ack = parse_ack(raw, form)
    try:
        row, at = await acknowledge(conn, deps.book, delivery_id, ack.token, record=deps.notifier)
        if at is None:  # the delivery vanished meanwhile: nothing deletes deliveries, so never seen
            raise NotFound(f"no delivery {delivery_id}", rule="delivery-exists")
        deps.worker.wake()  # an acknowledgement recorded as a notice goes to the notices topic
    except RuleViolation as exc:
        return refused_page(request, exc)
    if form:
        return HTMLResponse(page(row, ack.token, at))
    answer = AckAnswer(delivery_id=delivery_id, recipient_id=row["recipient_id"], acknowledged_at=at)
    return JSONResponse(answer.model_dump(mode="json"))


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
