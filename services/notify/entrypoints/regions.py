"""Notify across regions (docs/regions.md; the rules are ``domain.regions``).

- Raising: the case-event subscriber asks ``CrossRegion.escalated`` about each event it applies. An
  escalation to another region that this region wrote is recorded as a ``cross-region`` notice addressed
  to that region, in the transaction of the subscriber's position; an escalation that crosses is told to
  no office directly (the other region's notify tells its offices when the notice arrives there).
- Reading peers: one exactly-once consumer per peer region (``notify-region-<peer>``) reads the peer's
  notices topic as MirrorMaker replicates it into this cluster (``<peer>.<prefix>.notices``), checks each
  notice against the peer's chain with the one chain step (a repeat is skipped, a fork, gap or altered
  notice dead-lettered with its reason and never acted on), and acts on it: a cross-region notice
  addressed here is recorded as ``cross-region-received`` and delivered to the offices of its place, who
  must acknowledge it; an acknowledgement of this region's cross-region notice marks it acknowledged; a
  refusal the peer detected is alerted here too.
- Acknowledging: an office's acknowledgement of a ``cross-region-received`` notice is recorded as a
  ``cross-region-ack`` notice (``acknowledged``), which travels back.
- Refusals: a consumer of this region's dead-letter topic (``notify-region-refusals``) turns each peer
  event triage's importer refused into a ``region-chain-refused`` alert to the case's lead office here.

Every notice is recorded once by its dedupe key, so a redelivered record, a repeated one, or a notify
database rebuilt from the topics (its own notices read back first, the peers' topics read again from the
start) records nothing twice.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaRouter
from opentelemetry.trace import Tracer
from pydantic import ValidationError

from cluetrail.consume import Incoming, Rejected
from cluetrail.kafka import ORIGIN_REGION_HEADER, notice_topic, record_header
from cluetrail.service import Runtime, case_events_router, topic_consumer
from cluetrail.settings import CommonSettings
from cluetrail.telemetry import context_from_headers, current_traceparent
from contracts.envelope import utcnow
from contracts.events import CaseEscalated
from contracts.jurisdictions import JurisdictionError
from contracts.notices import Notice, NoticeChainBroken, notice_link
from services.notify.adapters import cases, notices, peer_notices
from services.notify.adapters.notifier import NoticeDecision, Notifier
from services.notify.domain.cases import CaseFacts
from services.notify.domain.recipients import Recipient
from services.notify.domain.refusals import (
    alert_stream,
    refusal_facts,
    refusal_key,
    refusal_of,
    refusal_places,
    relayed_facts,
    relayed_key,
    relayed_places,
)
from services.notify.domain.regions import (
    ACKNOWLEDGED,
    CHAIN_REFUSED,
    CROSS_REGION,
    RECEIVED,
    Here,
    PeerNoticeRefused,
    Reading,
    ack_facts,
    ack_key,
    acknowledgement_of,
    cross_region_facts,
    cross_region_key,
    crossing,
    reading,
    received_facts,
    received_key,
)

log = logging.getLogger(__name__)
REFUSALS_CONSUMER = "notify-region-refusals"


def peer_consumer(peer: str) -> str:
    """The consumer of region ``peer``'s notices topic."""
    return f"notify-region-{peer}"


def written_in(headers: Sequence[tuple[str, bytes]] | None, here: str) -> str:
    """The region that wrote a case event: the ``origin-region`` header of a copy triage's importer
    appended, else this region."""
    origin = record_header(headers, ORIGIN_REGION_HEADER)
    return here if origin is None else origin


class CrossRegion:
    """What crosses regions in one deployment: this region, and the notifier that records its notices."""

    def __init__(self, notifier: Notifier, here: Here) -> None:
        self.notifier = notifier
        self.here = here

    def crosses(self, incoming: Incoming) -> bool:
        """Whether the case event crosses to another region (``escalated`` then has something to do)."""
        writer = written_in(incoming.record.headers, self.here.region)
        return crossing(incoming.event, writer, self.here.regions) is not None

    async def escalated(
        self, conn: asyncpg.Connection, incoming: Incoming, facts: CaseFacts, history: bool
    ) -> bool:
        """Whether the case event crosses to another region (then it is told to no office directly). An
        escalation this region wrote raises its cross-region notice, unless it is history (before this
        database's start of delivery)."""
        event = incoming.event
        writer = written_in(incoming.record.headers, self.here.region)
        to_region = crossing(event, writer, self.here.regions)
        if to_region is None:
            return False
        if writer == self.here.region and not history and isinstance(event, CaseEscalated):
            decision = NoticeDecision(
                kind=CROSS_REGION,
                stream=str(event.case_id),
                dedupe_key=cross_region_key(event),
                jurisdiction=event.jurisdiction,
                occurred_at=event.occurred_at,
                facts=cross_region_facts(event, facts, self.notifier.registry, self.here, to_region),
                routings=(),
                case_id=event.case_id,
                causation_id=event.event_id,
            )
            if await self.notifier.record(conn, decision) is not None:
                log.info("case %s: cross-region notice to region %s recorded", event.case_id, to_region)
        return True

    async def refused(self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
        """A record of this region's dead-letter topic: a peer event triage's importer refused is alerted
        to the lead office of its case here; every other dead letter is someone else's."""
        try:
            document = json.loads(record.value or b"")
        except ValueError:
            return
        if not isinstance(document, dict):
            return
        try:
            refusal = refusal_of(document)
        except ValueError as exc:
            raise Rejected(f"dead letter of {document.get('consumer')}: {exc}") from exc
        if refusal is None:
            return
        facts = await _facts(conn, refusal.case_id)
        place = self.here.place_here(refusal_places(refusal, facts))
        await self.alert(
            conn,
            NoticeDecision(
                kind=CHAIN_REFUSED,
                stream=alert_stream(refusal.case_id, self.here.region),
                dedupe_key=refusal_key(self.here.region, refusal.digest),
                jurisdiction=place,
                occurred_at=_dead_lettered_at(document),
                facts=refusal_facts(refusal, self.here, facts),
                routings=(),
                case_id=refusal.case_id,
            ),
        )

    async def alert(self, conn: asyncpg.Connection, decision: NoticeDecision) -> None:
        """Record a chain refusal's alert, told to the lead office of its place here."""
        routings = self.notifier.book.routings_of_alert(CHAIN_REFUSED, decision.jurisdiction)
        recorded = await self.notifier.record(
            conn,
            replace(decision, routings=routings),
            current_traceparent(),
        )
        if recorded is not None:
            log.warning(
                "case %s: a refused event of region %s alerted to %s",
                recorded.case_id,
                recorded.facts.get("from_region"),
                ", ".join(r.recipient.id for r in routings) or "nobody (no lead office configured)",
            )

    def peer_reader(self, peer: str, tracer: Tracer) -> PeerNotices:
        return PeerNotices(self, peer, tracer)


class PeerNotices:
    """Reads one peer region's notices topic (see the module's docstring)."""

    def __init__(self, cross: CrossRegion, peer: str, tracer: Tracer) -> None:
        self._cross = cross
        self._notifier = cross.notifier
        self._here = cross.here
        self._tracer = tracer
        self.peer = peer

    def topic(self, settings: CommonSettings) -> str:
        return settings.peer_topic(self.peer, notice_topic(settings))

    async def apply(self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
        notice, document = self._read(record)
        at = await peer_notices.head(conn, self.peer, notice.stream)
        earlier = await peer_notices.recorded_hash(conn, self.peer, notice.stream, at, notice.seq)
        try:
            new = notice_link(document, at.seq, at.hash, earlier)
        except NoticeChainBroken as exc:
            raise Rejected(
                f"region {self.peer}'s notice stream {notice.stream} seq {notice.seq} ({notice.notice_id}, "
                f"{notice.kind}): {exc.reason}; refused, not acted on"
            ) from exc
        if not new:
            return  # a repeat of a notice already applied
        with self._tracer.start_as_current_span(
            f"notify read {notice.kind} of region {self.peer}",
            context=context_from_headers(record.headers),
            attributes={"cluetrail.notice_id": str(notice.notice_id), "cluetrail.region": self.peer},
        ):
            try:
                await self._act(conn, notice)
            except (PeerNoticeRefused, JurisdictionError) as exc:
                what = f"region {self.peer}'s notice {notice.notice_id} ({notice.kind})"
                raise Rejected(f"{what}: {exc}") from exc
        await peer_notices.keep(conn, self.peer, notice)

    def _read(self, record: ConsumerRecord[bytes, bytes]) -> tuple[Notice, dict[str, object]]:
        try:
            document = json.loads(record.value or b"")
            notice = Notice.model_validate(document)
        except ValueError as exc:  # not JSON, or not a notice (ValidationError is a ValueError)
            what = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise Rejected(f"not a notice of region {self.peer}: {what}") from None
        if record.key is not None and record.key != notice.stream.encode():
            raise Rejected(f"notice {notice.notice_id} is filed under another key than its stream")
        return notice, document

    async def _act(self, conn: asyncpg.Connection, notice: Notice) -> None:
        what = reading(notice, self.peer, self._here.region)
        if what is Reading.TELL:
            await self._tell(conn, notice)
        elif what is Reading.ACKNOWLEDGED:
            await self._acknowledged(conn, notice)
        elif what is Reading.ALERT:
            facts = await _facts(conn, notice.case_id)
            await self._cross.alert(
                conn,
                NoticeDecision(
                    kind=CHAIN_REFUSED,
                    stream=alert_stream(notice.case_id, self._here.region),
                    dedupe_key=relayed_key(notice),
                    jurisdiction=self._here.place_here(relayed_places(notice, facts)),
                    occurred_at=notice.occurred_at,
                    facts=relayed_facts(notice, self.peer),
                    routings=(),
                    case_id=notice.case_id,
                    causation_id=notice.notice_id,
                ),
            )

    async def _tell(self, conn: asyncpg.Connection, notice: Notice) -> None:
        """A cross-region notice addressed here: recorded as received and delivered to the offices of the
        place it names, each of which must acknowledge it."""
        facts = received_facts(notice)
        place = str(facts["target_jurisdiction"])
        serving = self._here.regions.region_of(place)
        if serving != self._here.region:
            raise PeerNoticeRefused(
                f"it is addressed to region {self._here.region} but names {place}, which region "
                f"{serving} serves"
            )
        case = facts.get("case")
        department = case.get("responsible_department") if isinstance(case, dict) else None
        routings = self._notifier.book.routings_of_cross_region(place, department)
        recorded = await self._notifier.record(
            conn,
            NoticeDecision(
                kind=RECEIVED,
                stream=str(notice.case_id),
                dedupe_key=received_key(notice, self.peer),
                jurisdiction=place,
                occurred_at=notice.occurred_at,
                facts=facts,
                routings=routings,
                case_id=notice.case_id,
                causation_id=notice.notice_id,
                ack_recipients=frozenset(r.recipient.id for r in routings),
            ),
            current_traceparent(),
        )
        if recorded is not None:
            told = ", ".join(r.recipient.id for r in routings) or "nobody (no office routes it)"
            log.info("cross-region notice %s of region %s told to %s", notice.notice_id, self.peer, told)

    async def _acknowledged(self, conn: asyncpg.Connection, notice: Notice) -> None:
        """An office of the peer acknowledged a cross-region notice of this region."""
        ack = acknowledgement_of(notice, self.peer)
        raw = await notices.document_of(conn, ack.notice_id)
        original = Notice.model_validate_json(raw) if raw is not None else None
        if original is None or original.kind != CROSS_REGION or original.facts.get("to_region") != self.peer:
            raise PeerNoticeRefused(
                f"it acknowledges notice {ack.notice_id}, which is no cross-region notice of region "
                f"{self._here.region} to region {self.peer}"
            )
        if await peer_notices.save_acknowledgement(conn, ack, notice):
            log.info(
                "cross-region notice %s acknowledged by %s of region %s",
                ack.notice_id,
                ack.recipient_id,
                self.peer,
            )


async def acknowledged(
    conn: asyncpg.Connection, notifier: Notifier, row: asyncpg.Record, recipient: Recipient, at: datetime
) -> Notice | None:
    """An office acknowledged delivery ``row``: when it is of a cross-region notice another region raised,
    record the acknowledgement, addressed back to that region (once per notice and office). Call in the
    transaction that records the acknowledgement."""
    if row["event_type"] != RECEIVED or row["origin"] != "notice":
        return None
    raw = await notices.document_of(conn, row["event_id"])
    if raw is None:
        return None
    received = Notice.model_validate_json(raw)
    return await notifier.record(
        conn,
        NoticeDecision(
            kind=ACKNOWLEDGED,
            stream=received.stream,
            dedupe_key=ack_key(received, recipient.id),
            jurisdiction=received.jurisdiction,
            occurred_at=at,
            facts=ack_facts(received, recipient.id, recipient.name, at),
            routings=(),
            case_id=received.case_id,
            causation_id=row["delivery_id"],
        ),
    )


async def _facts(conn: asyncpg.Connection, case_id: uuid.UUID | None) -> CaseFacts | None:
    return await cases.load_case(conn, case_id) if case_id is not None else None


def _dead_lettered_at(document: dict[str, object]) -> datetime:
    try:
        at = datetime.fromisoformat(str(document.get("dead_lettered_at")))
    except ValueError:
        at = None
    return at if at is not None and at.tzinfo is not None else utcnow()


def region_routers(rt: Runtime, cross: CrossRegion) -> list[KafkaRouter]:
    """One subscriber per peer region's notices topic, and one of this region's dead letters (none in a
    deployment of one region)."""
    if not cross.here.peers:
        return []
    routers = []
    for peer in cross.here.peers:
        reader = cross.peer_reader(peer, rt.tracer)
        consumer = topic_consumer(rt, peer_consumer(peer), reader.topic(rt.settings), reader.apply)
        routers.append(case_events_router(rt, consumer))
    refusals = topic_consumer(rt, REFUSALS_CONSUMER, rt.settings.dead_letter_topic, cross.refused)
    routers.append(case_events_router(rt, refusals))
    return routers
