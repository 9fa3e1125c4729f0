"""Notices across regions (跨区域通报, docs/regions.md): pure rules, no I/O.

A region's notify tells the offices of its own region only. What concerns another region's offices
crosses as a notice, which MirrorMaker carries to the other region's cluster:

- An escalation to another region (``escalated``, target ``other_region``) whose place another region
  serves *crosses*: notify of the region that wrote it records a ``cross-region`` notice addressed to that
  region, and tells no office of it directly. Nothing crosses when the place is the writer's own region's
  (a cross-district notice within one region is routed as any escalation) or no region's.
- A peer's notice, read from its replicated notices topic once it continues the peer's chain, is one of
  (``reading``): a cross-region notice addressed here, told to the offices of the place it names as
  ``cross-region-received``; an acknowledgement (``cross-region-ack``) of a cross-region notice of this
  region, which marks it acknowledged; a chain refusal the peer detected, alerted here too; or nothing for
  this region (kept in the peer's chain only).
- An office's acknowledgement of a ``cross-region-received`` notice is recorded as ``cross-region-ack``,
  addressed to the region that raised the notice: it travels back.
- A peer's event that triage's importer refused is alerted in both regions (``domain.refusals``).

No notice carries anything of the reporter: the case's figures and place and the escalation's reason are
all they say.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from contracts.envelope import Envelope
from contracts.events import CaseEscalated
from contracts.jurisdictions import JurisdictionRegistry
from contracts.notices import Notice
from contracts.regions import RegionRegistry
from contracts.vocabulary import EscalationTarget
from services.notify.domain.cases import CaseFacts
from services.notify.domain.notice import case_line, case_summary, escalation_reason, place_name

CROSS_REGION = "cross-region"
RECEIVED = "cross-region-received"
ACKNOWLEDGED = "cross-region-ack"
CHAIN_REFUSED = "region-chain-refused"


class PeerNoticeRefused(ValueError):
    """A peer's notice that says something it cannot say (another region's notice on this peer's topic,
    an acknowledgement of a notice this region never raised); the reason names it."""


@dataclass(frozen=True)
class Here:
    """This deployment's region among the regions of the deployment."""

    region: str
    regions: RegionRegistry

    @property
    def peers(self) -> tuple[str, ...]:
        """The other regions, whose notices topics reach this cluster."""
        return self.regions.peers_of(self.region)

    def name(self, alias: str) -> str:
        """A region's name (安徽省), or its alias when the regions file does not know it."""
        return self.regions.get(alias).name if alias in self.regions.aliases else alias

    def place_here(self, candidates: Iterable[str | None]) -> str:
        """The first of ``candidates`` that this region serves, else this region's first province: where an
        alert about a case is addressed here."""
        for code in candidates:
            if code and self.regions.region_of(code) == self.region:
                return code
        return self.regions.get(self.region).provinces[0]


def crossing(event: Envelope, writer: str, regions: RegionRegistry) -> str | None:
    """The region an escalation to another region crosses to: the region serving its place, when that is
    not the region that wrote the escalation. None for any other event, and for a place the writer's own
    region or no region serves."""
    if not isinstance(event, CaseEscalated) or event.payload.target != EscalationTarget.OTHER_REGION:
        return None
    to = regions.region_of(event.payload.target_jurisdiction)
    return to if to is not None and to != writer else None


def cross_region_key(event: Envelope) -> str:
    """One cross-region notice per escalation."""
    return f"{CROSS_REGION}/{event.event_id}"


def cross_region_facts(
    event: CaseEscalated,
    facts: CaseFacts | None,
    registry: JurisdictionRegistry,
    here: Here,
    to_region: str,
) -> dict[str, Any]:
    """What a cross-region notice says: who tells whom, about which place, why, and the case's figures."""
    payload = event.payload
    return {
        "from_region": here.region,
        "from_region_name": here.name(here.region),
        "to_region": to_region,
        "to_region_name": here.name(to_region),
        "from_jurisdiction": event.jurisdiction,
        "from_place": place_name(registry, event.jurisdiction),
        "target_jurisdiction": payload.target_jurisdiction,
        "target_place": place_name(registry, payload.target_jurisdiction),
        "escalation_event_id": str(event.event_id),
        "escalation_seq": event.seq,
        "escalation_hash": event.hash,
        "rule": payload.rule,
        "reason": escalation_reason(event, registry, facts),
        "case": case_summary(facts),
        "case_line": case_line(facts),
    }


class Reading(Enum):
    """What this region does with a peer's notice that continues the peer's chain."""

    TELL = "tell"  # a cross-region notice addressed here: told to the offices of its place
    ACKNOWLEDGED = "acknowledged"  # an office of the peer acknowledged a cross-region notice of this region
    ALERT = "alert"  # the peer refused an event of a case: alerted here too
    KEEP = "keep"  # nothing for this region to do


def reading(notice: Notice, peer: str, here: str) -> Reading:
    """What ``notice``, read from region ``peer``'s notices topic, asks of region ``here``. Raises
    ``PeerNoticeRefused`` for a notice the peer cannot have raised."""
    facts = notice.facts
    if notice.kind in (CROSS_REGION, ACKNOWLEDGED):
        if facts.get("from_region") != peer:
            raise PeerNoticeRefused(
                f"{notice.kind} notice {notice.notice_id} says it is from region {facts.get('from_region')}, "
                f"but it is on region {peer}'s notices topic"
            )
        if facts.get("to_region") != here:
            return Reading.KEEP
        return Reading.TELL if notice.kind == CROSS_REGION else Reading.ACKNOWLEDGED
    if notice.kind == CHAIN_REFUSED and facts.get("detected_in") == peer:
        return Reading.ALERT  # the peer's own refusal; one it relays (of this region's, say) is known here
    return Reading.KEEP


def _text(facts: Mapping[str, Any], name: str, notice: Notice) -> str:
    value = facts.get(name)
    if not isinstance(value, str) or not value:
        raise PeerNoticeRefused(f"{notice.kind} notice {notice.notice_id} has no {name}")
    return value


def received_key(notice: Notice, peer: str) -> str:
    """One received notice per cross-region notice of the peer (named by the peer's decision)."""
    return f"{RECEIVED}/{peer}/{notice.dedupe_key or notice.notice_id}"


def received_facts(notice: Notice) -> dict[str, Any]:
    """A cross-region notice as this region records it received: what it said, and which notice it was
    (named by stream, seq and hash: offsets differ across clusters)."""
    if notice.case_id is None:
        raise PeerNoticeRefused(f"cross-region notice {notice.notice_id} names no case")
    _text(notice.facts, "target_jurisdiction", notice)
    return {
        **notice.facts,
        "original_notice_id": str(notice.notice_id),
        "original_dedupe_key": notice.dedupe_key,
        "original_stream": notice.stream,
        "original_seq": notice.seq,
        "original_hash": notice.hash,
    }


def ack_key(received: Notice, recipient_id: str) -> str:
    """One acknowledgement per received cross-region notice and office."""
    facts = received.facts
    original = facts.get("original_dedupe_key") or facts.get("original_notice_id")
    return f"{ACKNOWLEDGED}/{facts.get('from_region')}/{original}/{recipient_id}"


def ack_facts(received: Notice, recipient_id: str, recipient_name: str, at: datetime) -> dict[str, Any]:
    """The acknowledgement of a received cross-region notice by one office, addressed back to the region
    that raised it."""
    facts = received.facts
    return {
        "from_region": facts["to_region"],
        "from_region_name": facts.get("to_region_name"),
        "to_region": facts["from_region"],
        "to_region_name": facts.get("from_region_name"),
        "original_notice_id": facts["original_notice_id"],
        "original_dedupe_key": facts.get("original_dedupe_key"),
        "original_stream": facts.get("original_stream"),
        "original_seq": facts.get("original_seq"),
        "original_hash": facts.get("original_hash"),
        "received_notice_id": str(received.notice_id),
        "target_jurisdiction": facts.get("target_jurisdiction"),
        "target_place": facts.get("target_place"),
        "acknowledged_by": recipient_id,
        "acknowledged_by_name": recipient_name,
        "acknowledged_at": at.isoformat(),
    }


@dataclass(frozen=True)
class RegionAcknowledgement:
    """An office of another region acknowledged a cross-region notice of this region."""

    notice_id: uuid.UUID
    region: str
    recipient_id: str
    recipient_name: str | None
    acknowledged_at: datetime


def acknowledgement_of(notice: Notice, peer: str) -> RegionAcknowledgement:
    """The acknowledgement a peer's ``cross-region-ack`` notice records; ``PeerNoticeRefused`` when it does
    not say which notice, by whom or when."""
    facts = notice.facts
    try:
        original = uuid.UUID(_text(facts, "original_notice_id", notice))
        at = datetime.fromisoformat(_text(facts, "acknowledged_at", notice))
    except ValueError as exc:
        if isinstance(exc, PeerNoticeRefused):
            raise
        raise PeerNoticeRefused(f"cross-region-ack notice {notice.notice_id}: {exc}") from None
    if at.tzinfo is None:
        raise PeerNoticeRefused(f"cross-region-ack notice {notice.notice_id}: acknowledged_at has no offset")
    name = facts.get("acknowledged_by_name")
    return RegionAcknowledgement(
        notice_id=original,
        region=peer,
        recipient_id=_text(facts, "acknowledged_by", notice),
        recipient_name=name if isinstance(name, str) else None,
        acknowledged_at=at,
    )
