"""The channels a notice goes out on: a signed webhook, e-mail over SMTP, an SMS gateway's webhook.

Each send answers with an ``Outcome``: delivered, or failed with a reason and whether a retry can help
(an SMTP server refusing the address for good will refuse it again; a receiver that is down may come
back). A webhook is signed as Standard Webhooks has it (``services.notify.domain.signing``). The SMS gateway
receives ``{"to", "text"}`` signed exactly like a recipient's webhook, with the gateway's own secret.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
import httpx

from cluetrail.telemetry import current_traceparent
from services.notify.domain.recipients import Recipient
from services.notify.domain.signing import DELIVERY_HEADER, webhook_headers


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False


@dataclass(frozen=True)
class SmtpConfig:
    """Where notify's mail goes out (the deployment's SMTP relay)."""

    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    start_tls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class SmsGateway:
    """The SMS gateway's webhook and the secret notify signs its requests with."""

    url: str
    secret: str


def _failure(response: httpx.Response | None, error: BaseException | None) -> str:
    if response is not None:
        return f"HTTP {response.status_code}"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


async def post_signed(
    client: httpx.AsyncClient, url: str, secrets: Sequence[str], delivery_id: uuid.UUID, body: str
) -> Outcome:
    """POST ``body`` signed as Standard Webhooks has it (``webhook-id`` is the delivery id, the timestamp
    this attempt's), with a signature per secret."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        **webhook_headers(secrets, str(delivery_id), body, int(time.time())),
        DELIVERY_HEADER: str(delivery_id),
    }
    traceparent = current_traceparent()
    if traceparent:
        headers["traceparent"] = traceparent
    response: httpx.Response | None = None
    error: BaseException | None = None
    try:
        response = await client.post(url, content=body.encode(), headers=headers)
    except httpx.HTTPError as exc:
        error = exc
    if response is not None and response.is_success:
        return Outcome(True, response.status_code)
    return Outcome(False, response.status_code if response is not None else None, _failure(response, error))


# What a stored body must hold on each channel before it is sent.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "webhook": ("text",),
    "email": ("to", "subject", "text"),
    "sms": ("to", "text"),
    "receipt": ("text",),
}


def malformed(channel: str, body: str) -> str | None:
    """Why the stored ``body`` cannot be sent on ``channel`` (a placeholder of a notice never written, a
    damaged row), or None. Such a delivery fails for good at once: no retry can mend it."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        return f"the stored {channel} body is not JSON ({exc})"
    if not isinstance(document, dict):
        return f"the stored {channel} body is not a JSON object"
    missing = [
        k for k in REQUIRED_FIELDS.get(channel, ()) if not isinstance(document.get(k), str) or not document[k]
    ]
    if missing:
        return f"the stored {channel} body has no {', '.join(missing)} (the notice was never written)"
    return None


async def send_mail(config: SmtpConfig, delivery_id: uuid.UUID, body: str) -> Outcome:
    """Send the stored mail (``{"to", "subject", "text"}``, checked by ``malformed``) through the relay."""
    mail = json.loads(body)
    message = EmailMessage()
    message["From"] = config.sender
    message["To"] = mail["to"]
    message["Subject"] = mail["subject"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=str(delivery_id))
    message[DELIVERY_HEADER] = str(delivery_id)
    message.set_content(mail["text"], charset="utf-8")
    try:
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=config.password,
            start_tls=config.start_tls,
            timeout=config.timeout,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        return Outcome(False, codes[0] if codes else None, f"SMTP refused {mail['to']}: {exc}", _hard(codes))
    except aiosmtplib.SMTPResponseException as exc:
        return Outcome(False, exc.code, f"SMTP {exc.code}: {exc.message}", _hard([exc.code]))
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        return Outcome(False, None, f"{type(exc).__name__}: {exc}")
    return Outcome(True, 250)


def _hard(codes: list[int]) -> bool:
    """5xx SMTP answers are final (no such mailbox, relay denied); 4xx ones are worth a retry."""
    return bool(codes) and all(500 <= code < 600 for code in codes)


async def send(
    channel: str,
    *,
    recipient: Recipient,
    delivery_id: uuid.UUID,
    body: str,
    client: httpx.AsyncClient,
    smtp: SmtpConfig | None,
    sms: SmsGateway | None,
) -> Outcome:
    """One attempt to deliver ``body`` to ``recipient`` on ``channel`` (not ``receipt``: the worker records
    a reporter's notice itself)."""
    problem = malformed(channel, body)
    if problem is not None:
        return Outcome(False, None, problem, permanent=True)
    if channel == "webhook":
        if recipient.webhook_url is None:
            return Outcome(False, None, f"recipient {recipient.id} has no webhook_url", permanent=True)
        return await post_signed(client, str(recipient.webhook_url), recipient.secrets, delivery_id, body)
    if channel == "email":
        if smtp is None:
            return Outcome(False, None, "no SMTP server is configured (CLUETRAIL_NOTIFY_SMTP_HOST)")
        return await send_mail(smtp, delivery_id, body)
    if channel == "sms":
        if sms is None:
            return Outcome(False, None, "no SMS gateway is configured (CLUETRAIL_NOTIFY_SMS_GATEWAY_URL)")
        return await post_signed(client, sms.url, [sms.secret], delivery_id, body)
    return Outcome(False, None, f"unknown channel {channel}", permanent=True)
