"""Case events: the payload of each type, its current schema version, and reading with upcasting.

Event types are past-tense facts about one case. The four core types are ``clue-reported``,
``assessed``, ``escalated`` and ``closed``; ``determined`` records an officer's determination.
To change a payload: add a new model version, bump ``schema_version`` in the event class, and register
an upcaster from the old version in ``UPCASTERS`` so events already in the log still load.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from contracts.codes import CreditCode, JurisdictionCode
from contracts.envelope import (
    GENESIS_HASH,
    Actor,
    Envelope,
    Sha256Hex,
    canonical_bytes,
    compute_hash,
    utcnow,
    uuid7,
)
from contracts.vocabulary import (
    ClueSource,
    Determination,
    EscalationTarget,
    Grade,
    Outcome,
    RiskFlag,
    SubjectKind,
)

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
Yuan = Annotated[int, Field(ge=0, le=10**15, description="Amount in yuan (元), whole yuan.")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Subject(_Strict):
    """The party a clue is about: a company, shop, person or online platform."""

    kind: SubjectKind
    name: ShortText
    credit_code: CreditCode | None = Field(default=None, description="统一社会信用代码, GB 32100")
    address: ShortText | None = None
    legal_representative: ShortText | None = None


class EvidenceRef(_Strict):
    """A piece of evidence held outside the log, referenced by the SHA-256 of its content."""

    sha256: Sha256Hex
    media_type: Annotated[str, StringConstraints(max_length=100)]
    filename: Annotated[str, StringConstraints(max_length=200)] | None = None
    size_bytes: int = Field(ge=0)


class SealedValue(_Strict):
    """A field encrypted with AES-256-GCM; the key is named by ``key_id`` and never travels in Kafka."""

    alg: Literal["AES-256-GCM"] = "AES-256-GCM"
    key_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    nonce: Annotated[str, StringConstraints(max_length=64)]
    ciphertext: Annotated[str, StringConstraints(max_length=8192)]


class ClueReportedPayload(_Strict):
    """A risk clue as its reporter gave it; never edited, corrections are later events."""

    source: ClueSource
    subject: Subject
    description: LongText
    sector: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")] | None = None
    behaviours: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = Field(
        default_factory=list, max_length=20
    )
    estimated_amount_yuan: Yuan | None = None
    participants: int | None = Field(default=None, ge=0, le=10**9)
    flags: list[RiskFlag] = Field(default_factory=list, max_length=len(RiskFlag))
    regions_involved: list[JurisdictionCode] = Field(default_factory=list, max_length=50)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=50)
    reporter: SealedValue | None = Field(default=None, description="None when reported anonymously.")
    receipt_digest: Sha256Hex = Field(description="SHA-256 of the receipt code given to the reporter.")


class Factor(_Strict):
    """One input to a grade, with the points it contributed, so an auditor can recompute the score."""

    name: Annotated[str, StringConstraints(max_length=64)]
    value: int | str | bool | None
    points: int


class AssessedPayload(_Strict):
    """The graded risk of a case (分级分类) under a named, versioned rule set."""

    grade: Grade
    score: int
    factors: list[Factor]
    rule_set: Annotated[str, StringConstraints(max_length=64)]
    key_case: bool
    key_case_reasons: list[Annotated[str, StringConstraints(max_length=64)]] = Field(default_factory=list)
    responsible_department: ShortText | None = None


class DeterminedPayload(_Strict):
    """An officer's determination of what a case is (研判定性), with its basis and the measures taken."""

    determination: Determination
    basis: LongText
    measures: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = Field(
        default_factory=list, max_length=20
    )


class EscalatedPayload(_Strict):
    """A case sent up (逐级上报), to the police (移送公安) or announced to another region (跨区域通报)."""

    target: EscalationTarget
    target_jurisdiction: JurisdictionCode
    reason: LongText
    rule: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="The rule that escalated automatically; None when an officer did."
    )


class ClosedPayload(_Strict):
    """A case closed with its recorded outcome (销号 requires one)."""

    outcome: Outcome
    summary: LongText
    recovered_amount_yuan: Yuan = 0


class ClueReported(Envelope):
    type: Literal["clue-reported"] = "clue-reported"
    schema_version: Literal[1] = 1
    payload: ClueReportedPayload


class CaseAssessed(Envelope):
    type: Literal["assessed"] = "assessed"
    schema_version: Literal[1] = 1
    payload: AssessedPayload


class CaseDetermined(Envelope):
    type: Literal["determined"] = "determined"
    schema_version: Literal[1] = 1
    payload: DeterminedPayload


class CaseEscalated(Envelope):
    type: Literal["escalated"] = "escalated"
    schema_version: Literal[1] = 1
    payload: EscalatedPayload


class CaseClosed(Envelope):
    type: Literal["closed"] = "closed"
    schema_version: Literal[1] = 1
    payload: ClosedPayload


CaseEvent = Annotated[
    ClueReported | CaseAssessed | CaseDetermined | CaseEscalated | CaseClosed,
    Field(discriminator="type"),
]
EVENT_CLASSES: dict[str, type[Envelope]] = {
    cls.model_fields["type"].default: cls
    for cls in (ClueReported, CaseAssessed, CaseDetermined, CaseEscalated, CaseClosed)
}
CURRENT_VERSIONS: dict[str, int] = {
    name: cls.model_fields["schema_version"].default for name, cls in EVENT_CLASSES.items()
}
_event_adapter: TypeAdapter[Any] = TypeAdapter(CaseEvent)

Document = dict[str, Any]
Upcaster = Callable[[Document], Document]
# (type, from_version) -> function returning the document at from_version + 1.
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UnreadableEvent(ValueError):
    """Bytes on a case topic that are not a case event this code can read."""


def upcast(document: Document, upcasters: dict[tuple[str, int], Upcaster] | None = None) -> Document:
    """Bring an event document to the current schema version of its type, one version at a time."""
    table = UPCASTERS if upcasters is None else upcasters
    event_type = document.get("type")
    if event_type not in CURRENT_VERSIONS:
        raise UnreadableEvent(f"unknown event type {event_type!r}")
    version = document.get("schema_version")
    if not isinstance(version, int):
        raise UnreadableEvent("schema_version is missing or not an integer")
    target = CURRENT_VERSIONS[event_type]
    while version < target:
        step = table.get((event_type, version))
        if step is None:
            raise UnreadableEvent(f"no upcaster for {event_type} v{version}")
        document = step(document)
        version += 1
        document["schema_version"] = version
    if version > target:
        raise UnreadableEvent(f"{event_type} v{version} is newer than this code knows (v{target})")
    return document


def parse_document(raw: bytes) -> Document:
    """Parse raw bytes into an event document without interpreting it (for hash verification)."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableEvent(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise UnreadableEvent("not a JSON object")
    return document


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
