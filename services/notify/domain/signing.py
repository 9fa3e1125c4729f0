"""Webhook signatures: the receiver recomputes the HMAC to know a notice is ours and unaltered.

``X-Cluetrail-Signature: sha256=<hex>`` is HMAC-SHA256 with the recipient's secret over
``f"{timestamp}.{body}"``, where ``timestamp`` is the ``X-Cluetrail-Timestamp`` header (Unix seconds).
Covering the timestamp lets a receiver refuse replays of old notices.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_PREFIX = "sha256="
DELIVERY_HEADER = "X-Cluetrail-Delivery"
TIMESTAMP_HEADER = "X-Cluetrail-Timestamp"
SIGNATURE_HEADER = "X-Cluetrail-Signature"


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


def sign(secret: str, timestamp: str, body: str | bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    message = _as_bytes(timestamp) + b"." + _as_bytes(body)
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: str | bytes, signature: str | None) -> bool:
    """True when ``signature`` is the one ``secret`` gives for ``body`` at ``timestamp`` (constant time)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def ack_token(secret: str, delivery_id: str) -> str:
    """The token that lets a recipient acknowledge one delivery (in the signed link or the API call)."""
    return hmac.new(secret.encode(), f"ack:{delivery_id}".encode(), hashlib.sha256).hexdigest()[:32]


def ack_token_valid(secret: str, delivery_id: str, token: str | None) -> bool:
    # Compared as bytes: compare_digest refuses str with characters beyond ASCII (a TypeError, a 500).
    given = (token or "").encode("utf-8", "surrogatepass")
    return bool(token) and hmac.compare_digest(ack_token(secret, delivery_id).encode(), given)


def withhold_token(body: str, secret: str, delivery_id: str) -> str:
    """``body`` with the delivery's acknowledgement token taken out: the token is the recipient's alone,
    never shown to readers of the delivery log or of a dead letter."""
    return body.replace(ack_token(secret, delivery_id), "(withheld)")
