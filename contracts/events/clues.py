"""The clue as reported (``clue-reported``, written by intake): its subject, its evidence held outside the
log and its sealed reporter."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contracts.codes import CreditCode, JurisdictionCode
from contracts.envelope import Envelope, Sha256Hex
from contracts.events.common import LongText, ShortText, Yuan, _Strict
from contracts.vocabulary import ClueSource, RiskFlag, SubjectKind


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


class ClueReported(Envelope):
    type: Literal["clue-reported"] = "clue-reported"
    schema_version: Literal[1] = 1
    payload: ClueReportedPayload
