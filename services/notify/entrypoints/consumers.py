"""Notify's Kafka consumers. The case-event subscriber (consumer group ``notify``) folds each case's facts
and decides its deliveries, stored with the consumer's position, so a redelivered batch tells nobody twice.

Before it joins its group (``before_consuming``) two things happen. First, where this database starts
telling anyone. Notify's database is a projection like any other: lost, it is rebuilt from the case topic,
and rebuilding must not tell anyone again what they were told before. So a database decides once, at its
first start, where its deliveries begin (``CLUETRAIL_NOTIFY_DELIVER_FROM``):

- ``log-end`` (default): the case events already on the topic are history. The consumer is rewound to the
  beginning and folds them (case facts, key-case limits), and their deliveries are recorded as
  ``skipped``: sent to nobody. Events that arrive later are delivered.
- ``log-start``: everything is delivered (a receiver drops a repeat by its derived ``X-Cluetrail-Delivery``).
- an ISO-8601 instant: events recorded before it are history, on every start; to deliver again what a
  lost database may not have sent, name the instant before the loss.

A database that already applied case events (an upgrade) delivers everything after its positions. Second,
at every start, the notices on the notices topic this database does not hold are read back into it, with
their dedupe keys, so a reminder already recorded is never recorded again, and each stream's chain
continues from its last notice on the topic rather than starting again at seq 1.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaRouter

from cluetrail.consume import Incoming, Rejected
from cluetrail.kafka import kafka_connection, notice_topic, read_log, record_header, topic_partitions
from cluetrail.service import Runtime, case_events_router, exactly_once_consumer
from cluetrail.settings import CommonSettings
from contracts.chain import ChainFault
from contracts.jurisdictions import JurisdictionError
from contracts.notices import dedupe_key_of
from services.notify.adapters import cases, deliveries, delivery_start, notices
from services.notify.adapters.deliveries import NewDelivery, delivery_id_for
from services.notify.adapters.notifier import Notifier
from services.notify.dependencies import NotifyDeps
from services.notify.domain.cases import CaseFacts, facts_document, fold
from services.notify.domain.history import DeliveryStart
from services.notify.domain.notice import TemplateError, notice_body
from services.notify.domain.recipients import ROUTED_EVENTS
from services.notify.domain.reminders import needs_acknowledgement
from services.notify.entrypoints.regions import CrossRegion, peer_consumer, region_routers

CONSUMER_GROUP = "notify"

log = logging.getLogger(__name__)


class DecidingDeliveries:
    """The consumer's apply step: fold the case's facts, then one delivery per matching recipient and
    channel, stored with the position. Types notify does not route are history: only the facts move.
    Events before the database's start of delivery (``start``) are recorded as skipped, sent to nobody.
    An escalation to another region (``cross``: the deployment's regions) is told by its cross-region
    notice only.

    A batch is decided as a whole (``apply_batch``): the facts of its cases are read and locked in one
    statement, each event is folded and routed in turn in memory as it would be alone, and the facts,
    routed events and deliveries are written with one pipelined statement each. A batch that fails is
    applied again record by record (``apply``, a batch of one), so a rejected event is dead-lettered
    alone."""

    def __init__(
        self,
        notifier: Notifier,
        start: Callable[[], DeliveryStart] = DeliveryStart,
        cross: CrossRegion | None = None,
    ) -> None:
        self._notifier = notifier
        self._start = start
        self._cross = cross

    async def apply(self, conn: asyncpg.Connection, incoming: Incoming) -> None:
        await self.apply_batch(conn, [incoming])

    async def apply_batch(self, conn: asyncpg.Connection, events: Sequence[Incoming]) -> None:
        held = await cases.load_cases(conn, list({incoming.event.case_id for incoming in events}))
        decided = _Decided()
        for incoming in events:
            event = incoming.event
            before = held.get(event.case_id)
            try:
                facts = fold(before, event)
            except ChainFault as exc:
                raise Rejected(
                    f"case {event.case_id} ({event.type}, {event.event_id}): {exc.reason}"
                ) from exc
            if facts is before:
                continue  # a copy of an event of this case applied before (a redelivery, a late resend)
            held[event.case_id] = decided.cases[event.case_id] = facts
            history = self._start().is_history(
                incoming.record.partition, incoming.record.offset, event.recorded_at
            )
            if self._cross is not None and self._cross.crosses(incoming):
                # Rare (an escalation to another region): its notice is recorded now, on what is known.
                await decided.write(conn)
                await self._cross.escalated(conn, incoming, facts, history)
                continue
            self._route(incoming, facts, history, decided)
        await decided.write(conn)

    def _route(self, incoming: Incoming, facts: CaseFacts, history: bool, decided: _Decided) -> None:
        """The deliveries of one case event, added to ``decided``."""
        event = incoming.event
        try:
            routings = self._notifier.book.routings_for(event, facts.responsible_department)
        except JurisdictionError as exc:
            raise Rejected(
                f"cannot route {event.type} of case {event.case_id} seq {event.seq}: {exc}"
            ) from exc
        if not routings:
            return
        # Kept so a delivery whose template failed can be written again on a resend.
        decided.routed.append((event.event_id, incoming.document, facts_document(facts)))
        # The sends later continue the event's trace: the record's (the span that published it), else the
        # one the event was sealed in.
        traceparent = record_header(incoming.record.headers, "traceparent") or event.traceparent
        for routing in routings:
            recipient = routing.recipient
            needs_ack = needs_acknowledgement(event, facts.key_case, recipient)
            for channel in routing.channels:
                delivery_id = delivery_id_for(event.event_id, recipient.id, channel)
                failure: str | None = None
                try:
                    body = self._notifier.event_body(event, facts, recipient, channel, delivery_id, needs_ack)
                except TemplateError as exc:
                    # One broken template kills this delivery (dead letter, alert), not the others.
                    failure, body = str(exc), notice_body({"event_id": str(event.event_id)})
                decided.deliveries.append(
                    NewDelivery(
                        delivery_id=delivery_id,
                        event_id=event.event_id,
                        recipient_id=recipient.id,
                        case_id=event.case_id,
                        seq=event.seq,
                        event_type=event.type,
                        jurisdiction=event.jurisdiction,
                        body=body,
                        traceparent=traceparent,
                        channel=channel,
                        failure=failure,
                        needs_ack=needs_ack,
                        skipped=history,
                    )
                )


@dataclass
class _Decided:
    """What a batch decided and has not written yet: cases' facts, routed events, deliveries."""

    cases: dict[uuid.UUID, CaseFacts] = field(default_factory=dict)
    routed: list[tuple[uuid.UUID, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    deliveries: list[NewDelivery] = field(default_factory=list)

    async def write(self, conn: asyncpg.Connection) -> None:
        await cases.save_cases(conn, list(self.cases.values()))
        await deliveries.save_routed_events(conn, self.routed)
        await deliveries.add_deliveries(conn, self.deliveries)
        self.cases, self.routed, self.deliveries = {}, [], []


def kafka_routers(rt: Runtime) -> list[KafkaRouter]:
    """The case-event subscriber, which wakes the delivery worker after a batch that routed anything (its
    start of delivery is decided before it joins its group: ``before_consuming``), and in a deployment of
    several regions the subscribers of the peers' notices and of this region's dead letters."""
    deps: NotifyDeps = rt.deps
    deciding = DecidingDeliveries(deps.notifier, deps.start, deps.cross)
    consumer = exactly_once_consumer(rt, CONSUMER_GROUP, deciding.apply, apply_batch=deciding.apply_batch)

    def wake_worker(applied: list[Incoming]) -> None:
        if any(i.event.type in ROUTED_EVENTS for i in applied):
            deps.worker.wake()

    deciding_router = case_events_router(rt, consumer, after=wake_worker, background=True)
    return [deciding_router, *region_routers(rt, deps.cross)]


async def before_consuming(rt: Runtime) -> None:
    """Before the subscribers join their groups: a new database decides where its deliveries start (and
    rewinds the group to fold the log), every start reads back the notices it does not hold, and a peer's
    notices topic this database never read is read from its start (its chains are checked from seq 1)."""
    deps: NotifyDeps = rt.deps
    settings = deps.settings
    deps.start.decided = await establish(
        rt.pool, settings, CONSUMER_GROUP, settings.deliver_from, settings.deliver_after
    )
    await recover_notices(rt.pool, settings)
    for peer in deps.cross.here.peers:
        topic = settings.peer_topic(peer, notice_topic(settings))
        await read_from_start(rt.pool, settings, peer_consumer(peer), topic)


async def read_from_start(pool: asyncpg.Pool, settings: CommonSettings, consumer: str, topic: str) -> None:
    """Rewind ``consumer``'s group to the start of ``topic`` when this database holds no position of it (a
    new or rebuilt database: the group may remember offsets of the one that was lost). A topic that does
    not exist yet has never been read."""
    async with pool.acquire() as conn:
        if await delivery_start.has_positions(conn, consumer):
            return
    try:
        await _rewind_group(settings, settings.consumer_group(consumer), {}, topic)
    except LookupError:
        return
    log.info("%s reads %s from its start", consumer, topic)


async def establish(
    pool: asyncpg.Pool, settings: CommonSettings, consumer: str, deliver_from: str, after: datetime | None
) -> DeliveryStart:
    """The database's start of delivery, decided at its first start and kept; a new database's consumer
    group is rewound so the consumer folds the whole log."""
    async with pool.acquire() as conn, conn.transaction():
        # One instance decides; others starting at the same moment wait and read its decision.
        await delivery_start.lock(conn)
        decided = await delivery_start.decided_offsets(conn)
        if decided is None:
            if await delivery_start.applied_before(conn, consumer):
                offsets: dict[int, int] = {}
                reason = "a database that had applied case events: everything after its positions"
            else:
                begin, end = await _log_bounds(settings)
                offsets = end if deliver_from == "log-end" else {}
                reason = f"a new database ({deliver_from}): case events below these offsets are history"
                # The group may remember offsets from the database that was lost: start it over.
                await _rewind_group(settings, settings.consumer_group(consumer), begin, settings.case_topic)
            await delivery_start.save(conn, settings.case_topic, offsets, reason)
            log.info("notify's start of delivery: %s %s", reason, offsets)
        else:
            offsets = decided
    return DeliveryStart(offsets, after)


async def _log_bounds(settings: CommonSettings) -> tuple[dict[int, int], dict[int, int]]:
    kafka = AIOKafkaConsumer(**kafka_connection(settings), enable_auto_commit=False)
    await kafka.start()
    try:
        partitions = await topic_partitions(kafka, settings.case_topic)
        begin = await kafka.beginning_offsets(partitions)
        end = await kafka.end_offsets(partitions)
    finally:
        await kafka.stop()
    return {tp.partition: o for tp, o in begin.items()}, {tp.partition: o for tp, o in end.items()}


async def _rewind_group(settings: CommonSettings, group: str, begin: dict[int, int], topic: str) -> None:
    """Commit ``group``'s offsets of ``topic`` at ``begin`` (by partition; the log's start when not
    named). ``LookupError`` when the topic does not exist."""
    kafka = AIOKafkaConsumer(**kafka_connection(settings), group_id=group, enable_auto_commit=False)
    await kafka.start()
    try:
        partitions = await topic_partitions(kafka, topic)
        kafka.assign(partitions)
        starts = await kafka.beginning_offsets(partitions)
        await kafka.commit({tp: begin.get(tp.partition, starts[tp]) for tp in partitions})
    finally:
        await kafka.stop()


async def recover_notices(pool: asyncpg.Pool, settings: CommonSettings) -> int:
    """Read the notices this database does not hold back from the notices topic (each with its dedupe key,
    as published) and move each stream's chain head to its last notice; returns how many were new."""
    topic = notice_topic(settings)
    async with pool.acquire() as conn:
        start = await notices.topic_positions(conn, topic)
    recovered = 0
    async for records, _ in read_log(settings, topic, start=start):
        async with pool.acquire() as conn, conn.transaction():
            reached: dict[int, int] = {}
            for record in records:
                reached[record.partition] = max(reached.get(record.partition, 0), record.offset + 1)
                recovered += await _recover(conn, record.value or b"")
            await notices.save_topic_positions(conn, topic, reached)
    if recovered:
        log.info("read %s notices back from %s", recovered, topic)
    return recovered


async def _recover(conn: asyncpg.Connection, value: bytes) -> int:
    try:
        document = json.loads(value)
        stream, seq, notice_hash = str(document["stream"]), int(document["seq"]), str(document["hash"])
        notice_id = uuid.UUID(str(document["notice_id"]))
        case_id = uuid.UUID(str(document["case_id"])) if document.get("case_id") else None
    except (ValueError, KeyError, TypeError):
        log.warning("a record on the notices topic is not a notice; left out of recovery")
        return 0
    new = await notices.read_back(
        conn,
        value,
        notice_id=notice_id,
        dedupe_key=dedupe_key_of(document) or f"notice/{notice_id}",
        stream=stream,
        seq=seq,
        notice_hash=notice_hash,
        kind=str(document.get("kind")),
        case_id=case_id,
        jurisdiction=str(document.get("jurisdiction")),
    )
    return 1 if new else 0
