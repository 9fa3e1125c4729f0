"""The one envelope every case event travels in, and the hash chain that makes a case tamper-evident.

A case's events form a chain: each event's ``hash`` is the SHA-256 of its canonical bytes (the envelope
as canonical JSON, without ``hash`` itself), and those bytes include ``prev_hash``, the hash of the
case's previous event. The first event of a case points at ``GENESIS_HASH``. Verification works on the
JSON exactly as it was written, before any upcasting, so old events verify forever.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from contracts import jsontext
from contracts.codes import JurisdictionCode

GENESIS_HASH = "0" * 64
Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


def uuid7() -> uuid.UUID:
    """A time-ordered UUID (RFC 9562 version 7): 48-bit Unix milliseconds, then random bits."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & (2**48 - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & (2**62 - 1)
    return uuid.UUID(int=value)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Actor(BaseModel):
    """Who caused an event: a reporter (anonymous id), an officer, or a service acting on rules."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["reporter", "officer", "service"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    role: Annotated[str, StringConstraints(max_length=64)] | None = None


class Envelope(BaseModel):
    """Fields common to every case event; subclasses fix ``type``, ``schema_version`` and ``payload``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: uuid.UUID
    type: str
    schema_version: int = Field(ge=1)
    case_id: uuid.UUID
    seq: int = Field(ge=1, description="Position of the event in its case, from 1, without gaps.")
    jurisdiction: JurisdictionCode
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    actor: Actor
    causation_id: uuid.UUID | None = None
    correlation_id: uuid.UUID
    traceparent: str | None = Field(default=None, max_length=128)
    prev_hash: Sha256Hex
    hash: Sha256Hex


def canonical_bytes(document: Mapping[str, Any], *, plain: bool = False) -> bytes:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8. Payloads hold no floats.
    ``plain``: the document was read as plain JSON (``jsontext.read``)."""
    return jsontext.canonical(document, plain=plain)


def compute_hash(document: Mapping[str, Any], *, plain: bool = False) -> str:
    """The chain hash of an event document: SHA-256 over its canonical bytes without ``hash``.
    ``plain`` as for ``canonical_bytes``."""
    body = dict(document)
    body.pop("hash", None)
    return hashlib.sha256(canonical_bytes(body, plain=plain)).hexdigest()
