"""Chain-head anchors: what a region publishes about the case events it wrote, so that every other region
can tell whether its copy of a case is the chain that was written (docs/regions.md, "Audit across regions").

Each region's triage writes anchors to ``<prefix>.anchors`` (unlimited retention, keyed by the region's
alias); MirrorMaker 2 copies them to every peer as ``<alias>.<prefix>.anchors``. An anchor names heads:
for each case whose head moved since the region's previous anchor, the last event of that case the region
wrote, as (case, seq, hash), and only once that event is in the region's own case log. Since each event's
hash covers its predecessor's, one head vouches for the whole chain up to it.

A region's anchors form a hash chain of their own, exactly like a case's events (``prev_hash`` of the
previous anchor, ``GENESIS_HASH`` first, ``hash`` over the canonical JSON without ``hash``), keyed by the
region: an anchor removed, altered or added afterwards breaks it, so the anchor stream is tamper-evident
too. Readers take the bytes as published (``Anchor.model_validate_json``) and verify them with the one
chain step (``anchor_verifier``).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.chain import ChainVerifier
from contracts.envelope import GENESIS_HASH, Sha256Hex, canonical_bytes, compute_hash, utcnow, uuid7
from contracts.regions import RegionAlias

# Heads one anchor names at most: a region with more moved heads anchors them over several anchors. Bounded
# so an anchor stays far below the topic's largest record (1 MiB): a head is about 130 bytes of JSON.
MAX_HEADS = 1000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AnchoredHead(_Strict):
    """The last event of a case that the anchoring region wrote, as its own case log holds it."""

    case_id: uuid.UUID
    seq: Annotated[int, Field(ge=1)]
    hash: Sha256Hex


class Anchor(_Strict):
    """One anchor of a region's chain (锚定): the heads that moved since the region's previous anchor."""

    type: Literal["anchor"] = "anchor"
    schema_version: Literal[1] = 1
    anchor_id: uuid.UUID
    region: RegionAlias = Field(description="The region that wrote the events, and this anchor.")
    seq: Annotated[int, Field(ge=1)] = Field(description="Position of the anchor in its region's chain.")
    anchored_at: AwareDatetime
    heads: list[AnchoredHead] = Field(min_length=1, max_length=MAX_HEADS)
    prev_hash: Sha256Hex = Field(
        description="The hash of the region's previous anchor (zeros for its first)."
    )
    hash: Sha256Hex = Field(description="SHA-256 of the anchor's canonical JSON without this field.")


def seal_anchor(*, region: str, seq: int, prev_hash: str, heads: list[AnchoredHead]) -> Anchor:
    """The region's next anchor, anchored now, with its hash computed over its canonical JSON."""
    draft = Anchor(
        anchor_id=uuid7(),
        region=region,
        seq=seq,
        anchored_at=utcnow(),
        heads=heads,
        prev_hash=prev_hash,
        hash=GENESIS_HASH,
    )
    body = draft.model_dump(mode="json")
    body["hash"] = compute_hash(body)
    return Anchor.model_validate_json(canonical_bytes(body))


def anchor_bytes(anchor: Anchor) -> bytes:
    """The wire form: canonical JSON including the hash."""
    return canonical_bytes(anchor.model_dump(mode="json"))


def anchor_verifier() -> ChainVerifier:
    """A verifier of anchor chains (one per region), fed raw anchor documents in log order."""
    return ChainVerifier(key="region", ident="anchor_id", noun="anchor")
