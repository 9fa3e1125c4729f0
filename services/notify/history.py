"""Where a notify database starts telling anyone, and what it reads back from the log at start-up.

Notify's database is a projection like any other: lost, it is rebuilt from the case topic. Rebuilding must
not tell anyone again what they were told before. So a database decides once, at its first start, where
its deliveries begin (``CLUETRAIL_NOTIFY_DELIVER_FROM``):

- ``log-end`` (default): the case events already on the topic are history. The consumer is rewound to the
  beginning and folds them (case facts, key-case limits), and their deliveries are recorded as
  ``skipped``: sent to nobody. Events that arrive later are delivered.
- ``log-start``: everything is delivered (a receiver drops a repeat by its derived ``X-Cluetrail-Delivery``).
- an ISO-8601 instant: events recorded before it are history, on every start; to deliver again what a
  lost database may not have sent, name the instant before the loss.

A database that already applied case events (an upgrade) delivers everything after its positions. At every
start, notices on the notices topic this database does not hold are read back into it, with their dedupe
keys, so a reminder already recorded is never recorded again, and each stream's chain continues from its
last notice on the topic rather than starting again at seq 1.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from aiokafka import AIOKafkaConsumer

from cluetrail.kafka import notice_topic, read_log, topic_partitions
from cluetrail.settings import CommonSettings
from contracts.notices import dedupe_key_of
from services.notify.adapters import delivery_start, notices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryStart:
    """Case-topic offsets (per partition) below which events are history, and the instant before which
    they are."""

    offsets: dict[int, int] = field(default_factory=dict)
    after: datetime | None = None

    def is_history(self, partition: int, offset: int, recorded_at: datetime) -> bool:
        if offset < self.offsets.get(partition, 0):
            return True
        return self.after is not None and recorded_at < self.after


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
                await _rewind_group(settings, settings.consumer_group(consumer), begin)
            await delivery_start.save(conn, settings.case_topic, offsets, reason)
            log.info("notify's start of delivery: %s %s", reason, offsets)
        else:
            offsets = decided
    return DeliveryStart(offsets, after)


async def _log_bounds(settings: CommonSettings) -> tuple[dict[int, int], dict[int, int]]:
    kafka = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await kafka.start()
    try:
        partitions = await topic_partitions(kafka, settings.case_topic)
        begin = await kafka.beginning_offsets(partitions)
        end = await kafka.end_offsets(partitions)
    finally:
        await kafka.stop()
    return {tp.partition: o for tp, o in begin.items()}, {tp.partition: o for tp, o in end.items()}


async def _rewind_group(settings: CommonSettings, group: str, begin: dict[int, int]) -> None:
    kafka = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    await kafka.start()
    try:
        partitions = await topic_partitions(kafka, settings.case_topic)
        kafka.assign(partitions)
        await kafka.commit({tp: begin.get(tp.partition, 0) for tp in partitions})
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
