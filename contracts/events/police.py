"""The police's part: the referral bundle (``referral-packaged``, with the case's facts as of the transfer)
and the police's answer (``police-accepted``, ``police-returned``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field, StringConstraints

from contracts.codes import JurisdictionCode
from contracts.envelope import Envelope, Sha256Hex
from contracts.events.clues import EvidenceRef
from contracts.events.common import LongText, ShortText, _Strict
from contracts.vocabulary import Determination, Grade, Measure


class PoliceAcceptedPayload(_Strict):
    """The police accepted the transferred case (受理/立案) under their case number."""

    police_case_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    accepted_at: AwareDatetime
    police_jurisdiction: JurisdictionCode


class PoliceReturnedPayload(_Strict):
    """The police returned the transferred case (退回), with their reason."""

    reason: LongText
    police_jurisdiction: JurisdictionCode


class ReferralFacts(_Strict):
    """The case's facts as they stood at its transfer to the police, as the referral bundle states them."""

    jurisdiction: JurisdictionCode
    subject_name: ShortText | None = None
    credit_code: Annotated[str, StringConstraints(max_length=18)] | None = None
    address: ShortText | None = None
    sector: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")] | None = None
    behaviours: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]] = Field(
        default_factory=list, max_length=50
    )
    participants: int | None = Field(default=None, ge=0)
    estimated_amount_yuan: int | None = Field(default=None, ge=0)
    grade: Grade | None = None
    key_case: bool = False
    determination: Determination | None = None
    determination_basis: LongText | None = None
    measures: list[Measure] = Field(default_factory=list, max_length=500)
    linked_clues: int = Field(default=0, ge=0, description="Clues linked to the case and not split off.")


class ReferralPackagedPayload(_Strict):
    """The referral bundle for the police (移送材料); its manifest hash covers events 1..through_seq.

    Version 2 records the case's facts as of the transfer; the manifest hash covers them too, and the
    evidence includes that of the clues linked to the case. A v1 bundle reads with ``facts`` absent (its
    manifest never covered facts).
    """

    manifest_sha256: Sha256Hex
    through_seq: int = Field(ge=1, description="The last event of the case the bundle contains.")
    event_count: int = Field(ge=1)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=500)
    summary: LongText
    facts: ReferralFacts | None = Field(default=None, description="As of the transfer; None in v1.")


class PoliceAccepted(Envelope):
    """The police accepted the case transferred to them."""

    type: Literal["police-accepted"] = "police-accepted"
    schema_version: Literal[1] = 1
    payload: PoliceAcceptedPayload


class PoliceReturned(Envelope):
    """The police returned the case transferred to them."""

    type: Literal["police-returned"] = "police-returned"
    schema_version: Literal[1] = 1
    payload: PoliceReturnedPayload


class ReferralPackaged(Envelope):
    """The referral bundle for the police was built and its manifest hash recorded."""

    type: Literal["referral-packaged"] = "referral-packaged"
    schema_version: Literal[2] = 2
    payload: ReferralPackagedPayload
