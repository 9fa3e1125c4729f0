"""Handoffs between jurisdictions (协商办理): ``handoff-requested``, ``handoff-accepted`` and
``handoff-returned``, with full codes and regions so a case can cross regions."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from contracts.codes import JurisdictionCode
from contracts.envelope import Envelope
from contracts.events.common import LongText, RegionId, _Strict

B64 = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+/]*={0,2}$", max_length=8192)]


class SealedForRegion(_Strict):
    """A value sealed for another region (the reporter's identity of a case handed to it): an ephemeral
    X25519 key agreed with the region's public key, HKDF-SHA256, AES-256-GCM with the case id as associated
    data. Only the holder of that region's private key opens it; ``key_id`` names the public key used."""

    alg: Literal["X25519-HKDF-SHA256-AES-256-GCM"] = "X25519-HKDF-SHA256-AES-256-GCM"
    region: RegionId
    key_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{16}$")]
    ephemeral_public: B64
    nonce: B64
    ciphertext: B64


class HandoffRequestedPayload(_Strict):
    """A case offered to another jurisdiction (协商办理); full codes and regions so it can cross regions.

    Version 2 carries, for a case offered to another region, the reporter's identity sealed for that
    region's public key (``reporter``), so its entitled officers can open it there; the identity is never
    in plaintext in either region's log. A v1 offer reads with ``reporter`` absent."""

    from_jurisdiction: JurisdictionCode
    to_jurisdiction: JurisdictionCode
    from_region: RegionId | None = None
    to_region: RegionId | None = None
    reason: LongText
    reporter: SealedForRegion | None = None


class HandoffAcceptedPayload(_Strict):
    """The receiving jurisdiction took the case over; from this event on it is the case's jurisdiction."""

    from_jurisdiction: JurisdictionCode
    to_jurisdiction: JurisdictionCode
    from_region: RegionId | None = None
    to_region: RegionId | None = None
    note: LongText | None = None


class HandoffReturnedPayload(_Strict):
    """The receiving jurisdiction declined the handoff; the case stays where it was."""

    from_jurisdiction: JurisdictionCode
    to_jurisdiction: JurisdictionCode
    from_region: RegionId | None = None
    to_region: RegionId | None = None
    reason: LongText


class HandoffRequested(Envelope):
    """A handoff of the case to another jurisdiction was requested."""

    type: Literal["handoff-requested"] = "handoff-requested"
    schema_version: Literal[2] = 2
    payload: HandoffRequestedPayload


class HandoffAccepted(Envelope):
    """The receiving jurisdiction accepted the handoff."""

    type: Literal["handoff-accepted"] = "handoff-accepted"
    schema_version: Literal[1] = 1
    payload: HandoffAcceptedPayload


class HandoffReturned(Envelope):
    """The receiving jurisdiction returned the handoff."""

    type: Literal["handoff-returned"] = "handoff-returned"
    schema_version: Literal[1] = 1
    payload: HandoffReturnedPayload
