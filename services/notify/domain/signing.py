"""Webhook signatures after Standard Webhooks (https://www.standardwebhooks.com), and acknowledgement
tokens that expire.

A webhook carries three headers: ``webhook-id`` (the delivery id: the same on every retry and resend, so
a receiver drops repeats by it), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature``: ``v1,<base64 of HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>``, one per secret of
the recipient, separated by spaces. A secret is ``whsec_`` and the base64 of 24 to 64 random bytes; the
HMAC key is those bytes. While a recipient rotates its secret it holds two: every webhook is signed with
both, and a receiver accepts the one it knows.

``verify`` is the receiver's side (any Standard Webhooks library does the same): it refuses a webhook
without the three headers, one whose timestamp lies more than the tolerance (5 minutes by default) in
the past or the future, and one no signature of which matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets as random
import time
from collections.abc import Mapping, Sequence
from typing import Literal

SECRET_PREFIX = "whsec_"
# Standard Webhooks recommends 24 to 64 bytes of key.
SECRET_BYTES = (24, 64)
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
# The delivery id once more, as e-mail carries it (and the receivers that read it before webhook-id).
DELIVERY_HEADER = "X-Cluetrail-Delivery"
DEFAULT_TOLERANCE_SECONDS = 300
# A demo secret's key starts so (recognisable, so production refuses to start with one).
DEMO_KEY_PREFIX = b"demo-only-"


class SecretError(ValueError):
    """A secret that is not ``whsec_`` and the base64 of 24 to 64 bytes."""


class SignatureRefused(ValueError):
    """A webhook that does not verify; the message says why."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise SecretError(f"a secret starts with {SECRET_PREFIX} (then the base64 of its key)")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise SecretError(f"what follows {SECRET_PREFIX} is not base64") from None
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        raise SecretError(f"a secret's key is {low} to {high} bytes, not {len(key)}")
    return key


def secret_of(key: bytes) -> str:
    """The ``whsec_`` secret of ``key``."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def new_secret() -> str:
    """A fresh secret of 32 random bytes."""
    return secret_of(random.token_bytes(32))


def is_demo_secret(secret: str) -> bool:
    try:
        return secret_key(secret).startswith(DEMO_KEY_PREFIX)
    except SecretError:
        return False


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def _mac(secret: str, message_id: str, timestamp: int, body: str | bytes) -> bytes:
    content = f"{message_id}.{timestamp}.".encode() + _as_bytes(body)
    return hmac.new(secret_key(secret), content, hashlib.sha256).digest()


def sign(secret: str, message_id: str, timestamp: int, body: str | bytes) -> str:
    """One signature: ``v1,<base64>`` of ``body`` sent as ``message_id`` at ``timestamp``."""
    return "v1," + base64.b64encode(_mac(secret, message_id, timestamp, body)).decode()


def webhook_headers(
    secrets: Sequence[str], message_id: str, body: str | bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers of ``body``, signed with each of ``secrets``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(stamp),
        SIGNATURE_HEADER: " ".join(sign(secret, message_id, stamp, body) for secret in secrets),
    }


def verify(
    secrets: str | Sequence[str],
    headers: Mapping[str, str],
    body: str | bytes,
    *,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Accept a webhook signed with one of ``secrets`` within ``tolerance_seconds`` of ``now``, or raise
    ``SignatureRefused`` saying why (headers are matched without regard to case)."""
    known = [secrets] if isinstance(secrets, str) else list(secrets)
    found = {name.lower(): value for name, value in headers.items()}
    message_id = found.get(ID_HEADER, "")
    stamp = found.get(TIMESTAMP_HEADER, "")
    signatures = found.get(SIGNATURE_HEADER, "")
    for name, value in ((ID_HEADER, message_id), (TIMESTAMP_HEADER, stamp), (SIGNATURE_HEADER, signatures)):
        if not value:
            raise SignatureRefused(f"no {name} header")
    if not re.fullmatch(r"[0-9]{1,12}", stamp):
        raise SignatureRefused(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    age = (time.time() if now is None else now) - int(stamp)
    if age > tolerance_seconds:
        raise SignatureRefused(f"signed {age:.0f} s ago, more than the {tolerance_seconds:.0f} s tolerated")
    if age < -tolerance_seconds:
        raise SignatureRefused(
            f"signed {-age:.0f} s in the future, more than the {tolerance_seconds:.0f} s tolerated"
        )
    expected = [_mac(secret, message_id, int(stamp), body) for secret in known]
    for signature in signatures.split():
        version, _, value = signature.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if any(hmac.compare_digest(mac, given) for mac in expected):
            return
    raise SignatureRefused("no signature matches a secret of this receiver")


# An acknowledgement token: its expiry (Unix seconds) and a MAC over the delivery id and that expiry. ASCII
# only: anything else in a link is not a token.
ACK_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{32})")
ACK_IN_LINK = re.compile(r"(token=)[0-9]{1,12}\.[0-9a-f]{32}")
AckCheck = Literal["valid", "expired", "wrong"]


def ack_token(secret: str, delivery_id: str, expires_at: int) -> str:
    """The token that lets a recipient acknowledge one delivery until ``expires_at`` (Unix seconds), in
    the signed link or the API call. The expiry is inside the token and covered by its MAC."""
    mac = hmac.new(secret_key(secret), f"ack:{delivery_id}:{expires_at}".encode(), hashlib.sha256)
    return f"{expires_at}.{mac.hexdigest()[:32]}"


def check_ack_token(secrets: Sequence[str], delivery_id: str, token: str | None, now: float) -> AckCheck:
    """Whether ``token`` acknowledges ``delivery_id`` (made with any of the recipient's ``secrets``): valid,
    expired (only a genuine token is told it expired), or wrong."""
    match = ACK_TOKEN.fullmatch(token or "")
    if match is None:
        return "wrong"
    expires_at = int(match[1])
    given = match[0].encode()
    if not any(hmac.compare_digest(ack_token(s, delivery_id, expires_at).encode(), given) for s in secrets):
        return "wrong"
    return "valid" if now < expires_at else "expired"


def ack_expiry(token: str) -> int | None:
    """When a well-formed token expires (Unix seconds)."""
    match = ACK_TOKEN.fullmatch(token)
    return int(match[1]) if match else None


def withhold_token(body: str) -> str:
    """``body`` with the acknowledgement token of its link taken out: the token is the recipient's alone,
    never shown to readers of the delivery log or of a dead letter."""
    return ACK_IN_LINK.sub(r"\1(withheld)", body)


def renew_token(body: str, token: str) -> str:
    """``body`` with the token of its acknowledgement link replaced by ``token`` (a resend's new expiry)."""
    return ACK_IN_LINK.sub(lambda m: m[1] + token, body)
