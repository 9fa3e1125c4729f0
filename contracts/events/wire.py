"""Case events on the wire: reading bytes (parsed, upcast, validated, or ``UnreadableEvent`` with the reason),
their canonical form, and sealing the next event of a case with its hash."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from pydantic import BaseModel

from contracts import jsontext
from contracts.envelope import GENESIS_HASH, Actor, Envelope, canonical_bytes, compute_hash, utcnow, uuid7
from contracts.events.registry import _event_adapter
from contracts.events.upcasting import Document, UnreadableEvent, upcast


def parse_document(raw: bytes) -> Document:
    """Parse raw bytes into an event document without interpreting it (for hash verification)."""
    return read_document(raw)[0]


def read_document(raw: bytes) -> tuple[Document, bool]:
    """``parse_document``, and whether the document is plain JSON (``jsontext.read``): its hash is then
    computed with ``compute_hash(document, plain=True)``, which does not look through it again."""
    try:
        document, plain = jsontext.read(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableEvent(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise UnreadableEvent("not a JSON object")
    return document, plain


def read_event(raw: bytes | Document) -> Envelope:
    """Decode, upcast and validate one event. Raises ``UnreadableEvent`` with the reason."""
    document = parse_document(raw) if isinstance(raw, bytes) else dict(raw)
    try:
        event: Envelope = _event_adapter.validate_python(upcast(document))
    except ValueError as exc:
        if isinstance(exc, UnreadableEvent):
            raise
        raise UnreadableEvent(f"invalid event: {exc}") from exc
    return event


def event_bytes(event: Envelope) -> bytes:
    """The wire form of an event: canonical JSON including its hash."""
    return canonical_bytes(event.model_dump(mode="json"))


def seal_event(
    cls: type[Envelope],
    *,
    case_id: uuid.UUID,
    seq: int,
    prev_hash: str,
    jurisdiction: str,
    actor: Actor,
    payload: BaseModel,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
    traceparent: str | None = None,
) -> Envelope:
    """Build the next event of a case: a fresh time-ordered id, recorded now, its hash computed."""
    recorded_at = utcnow()
    document: Document = {
        "event_id": str(uuid7()),
        "type": cls.model_fields["type"].default,
        "schema_version": cls.model_fields["schema_version"].default,
        "case_id": str(case_id),
        "seq": seq,
        "jurisdiction": jurisdiction,
        "occurred_at": occurred_at or recorded_at,
        "recorded_at": recorded_at,
        "actor": actor,
        "causation_id": causation_id,
        "correlation_id": correlation_id,
        "traceparent": traceparent,
        "prev_hash": prev_hash,
        "hash": GENESIS_HASH,
        "payload": payload,
    }
    # Validate first so the hash is computed over exactly the JSON the event serialises to.
    draft = cls.model_validate(document)
    body = draft.model_dump(mode="json")
    body["hash"] = compute_hash(body)
    return cls.model_validate(body)
