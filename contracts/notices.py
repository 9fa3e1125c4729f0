"""Notices: what notify itself decides to tell (reminders, unacknowledged escalations, delivery alerts).

Triage is the only writer of case streams, so notify records its own decisions as notices on the
``<prefix>.notices`` topic (unlimited retention), keyed by stream. A stream is a case id for notices
about a case, or ``reporting-deadline/<jurisdiction>`` for the monthly reporting reminders. Notices of a
stream form a hash chain exactly like a case's events (``contracts.envelope.compute_hash`` over the
canonical bytes, ``prev_hash`` of the previous notice, ``GENESIS_HASH`` first), so they verify the same way.

Version 2 adds the notice's ``dedupe_key`` (the decision it records, so a notify database rebuilt from
the topic never records it again) and the ``reporter-update`` kind (a reporter's notice, shown on the
receipt by intake). Version 3 adds the kinds that cross regions (docs/regions.md): ``cross-region``
(跨区域通报, raised by the region writing a case and addressed to another region),
``cross-region-received`` (that notice as the other region received it and told its offices),
``cross-region-ack`` (an office of the other region acknowledged it; it travels back) and
``region-chain-refused`` (an alert: a peer region's event of a case was refused as out of its chain, raised
where it was refused and again in the peer region). Version 1 and 2 notices load unchanged; their hashes
cover exactly the bytes written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from contracts.chain import ChainBreak, ChainFault, ChainVerifier, Fault, Head, Step, chain_step, intact
from contracts.codes import JurisdictionCode
from contracts.envelope import (
    GENESIS_HASH,
    Sha256Hex,
    canonical_bytes,
    compute_hash,
    utcnow,
    uuid7,
)

NoticeKind = Literal[
    "reporting-deadline",
    "key-case-deadline",
    "unacknowledged",
    "delivery-dead",
    "reporter-update",
    "cross-region",
    "cross-region-received",
    "cross-region-ack",
    "region-chain-refused",
]
StreamId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
DedupeKey = Annotated[str, StringConstraints(min_length=1, max_length=300)]


class Notice(BaseModel):
    """One decision of notify, recorded before anyone is told of it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    notice_id: uuid.UUID
    kind: NoticeKind
    schema_version: Literal[1, 2, 3] = 3
    stream: StreamId
    seq: int = Field(ge=1)
    jurisdiction: JurisdictionCode
    case_id: uuid.UUID | None = None
    occurred_at: AwareDatetime = Field(description="The instant the notice is about (the clock's now).")
    recorded_at: AwareDatetime
    causation_id: uuid.UUID | None = Field(default=None, description="The delivery or event it follows.")
    recipients: list[Annotated[str, StringConstraints(max_length=64)]] = Field(max_length=100)
    facts: dict[str, Any] = Field(description="What the notice says; never anything about a reporter.")
    dedupe_key: DedupeKey | None = Field(
        default=None, description="The decision recorded (v2): one notice per key, however often taken."
    )
    prev_hash: Sha256Hex
    hash: Sha256Hex


def seal_notice(
    *,
    kind: str,
    stream: str,
    seq: int,
    prev_hash: str,
    jurisdiction: str,
    occurred_at: datetime,
    recipients: list[str],
    facts: dict[str, Any],
    case_id: uuid.UUID | None = None,
    causation_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
) -> Notice:
    """The next notice of ``stream`` with its hash computed over its canonical JSON."""
    draft = Notice.model_validate(
        {
            "notice_id": uuid7(),
            "kind": kind,
            "stream": stream,
            "seq": seq,
            "jurisdiction": jurisdiction,
            "case_id": case_id,
            "occurred_at": occurred_at,
            "recorded_at": utcnow(),
            "causation_id": causation_id,
            "recipients": recipients,
            "facts": facts,
            "dedupe_key": dedupe_key,
            "prev_hash": prev_hash,
            "hash": GENESIS_HASH,
        }
    )
    body = draft.model_dump(mode="json")
    body["hash"] = compute_hash(body)
    return Notice.model_validate(body)


def dedupe_key_of(document: Mapping[str, Any]) -> str | None:
    """The decision a notice document records: its own ``dedupe_key`` (v2), or the one notify derived
    for a version-1 notice from its kind and facts (None when it cannot be told)."""
    key = document.get("dedupe_key")
    if isinstance(key, str) and key:
        return key
    facts = document.get("facts") or {}
    kind = document.get("kind")
    if kind == "reporting-deadline" and document.get("recipients"):
        return f"reporting-deadline/{document['recipients'][0]}/{facts.get('period')}/{facts.get('due_on')}"
    if kind == "key-case-deadline":
        return f"key-case-deadline/{document.get('case_id')}/{facts.get('limit')}"
    if kind == "unacknowledged":
        return f"unacknowledged/{facts.get('original_event_id')}/{facts.get('original_recipient_id')}"
    if kind == "delivery-dead":
        return f"delivery-dead/{facts.get('failed_delivery_id')}/{document.get('occurred_at')}"
    return None


def notice_bytes(notice: Notice) -> bytes:
    """The wire form: canonical JSON including the hash."""
    return canonical_bytes(notice.model_dump(mode="json"))


class NoticeChainBroken(ChainFault):
    """A notice that does not continue its stream's chain; ``reason`` names the rule it breaks."""


def notice_link(
    document: Mapping[str, Any], last_seq: int, last_hash: str, recorded_hash: str | None = None
) -> bool:
    """Whether the raw notice ``document`` is new to a stream whose last notice is ``last_seq`` with hash
    ``last_hash`` (``0`` and ``GENESIS_HASH`` for a stream not begun), by the one chain step
    (``contracts.chain``): True when it is the next notice, False when it repeats one already recorded
    (the last one, or the one at its seq whose hash is ``recorded_hash``, which the caller looks up when
    the seq lies before ``last_seq``): a publisher may write a notice twice. ``NoticeChainBroken``
    otherwise, also for a repeat whose content no longer matches its hash."""
    seq = document.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise NoticeChainBroken(Fault.UNREADABLE, "notice has no integer seq")
    try:
        step = chain_step(
            Head(last_seq, last_hash),
            seq,
            str(document.get("prev_hash")),
            str(document.get("hash")),
            recorded_hash,
        )
    except ChainFault as exc:
        raise NoticeChainBroken(exc.fault, exc.reason) from None
    if not intact(document):
        raise NoticeChainBroken(
            Fault.ALTERED, "hash does not match the notice's content (altered after it was written)"
        )
    return step is Step.APPLY


def verify_notices(documents: Iterable[Mapping[str, Any]]) -> dict[str, ChainBreak]:
    """Verify raw notice documents in log order; return the first break of each broken stream."""
    verifier = ChainVerifier(key="stream", ident="notice_id", noun="notice")
    for document in documents:
        verifier.feed(document)
    return verifier.breaks
