"""Reporting's Kafka subscribers: the live projection (consumer group ``reporting`` on the case log and
``reporting-notices`` on notify's notices, both exactly once, their positions kept inside the active
projection version) and ``reporting-submissions``, which keeps every submitted month read from the
report-submissions topic."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg
from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaRouter
from faststream.kafka.message import KafkaMessage

from cluetrail.consume import Incoming, Rejected
from cluetrail.kafka import notice_topic, report_submission_topic
from cluetrail.service import Runtime, case_events_router, exactly_once_consumer, the_message, topic_consumer
from contracts.reports import read_submission
from services.reporting.adapters.notices import NOTICES_CONSUMER, apply_notices
from services.reporting.adapters.projector import CASE_CONSUMER, apply_events
from services.reporting.adapters.submissions import store_submission, submission
from services.reporting.adapters.versions import use_active_projection
from services.reporting.domain.periods import Period

log = logging.getLogger(__name__)
SUBMISSIONS_GROUP = "reporting-submissions"


async def apply_one(conn: asyncpg.Connection, incoming: Incoming) -> None:
    """Apply one live event to the active version; an event off its case's chain is dead-lettered."""
    result = await apply_events(conn, [incoming])
    if result.rejected:
        raise Rejected(result.rejected[0][1])


async def apply_batch(conn: asyncpg.Connection, events: Sequence[Incoming]) -> None:
    """Apply a batch's events to the active version at once: one read of their cases' rows, one write. An
    event off its case's chain fails the whole call, and the consumer applies the batch again event by
    event (``apply_one``), which dead-letters that event alone."""
    result = await apply_events(conn, events)
    if result.rejected:
        raise Rejected(result.rejected[0][1])


async def apply_notice(conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
    """Apply one notice to the active version; one that is not a notice or is off its stream's chain is
    dead-lettered."""
    result = await apply_notices(conn, [record])
    if result.rejected:
        raise Rejected(result.rejected[0][1])


async def aim_at_active_projection(conn: asyncpg.Connection) -> None:
    """The consumer's prepare hook: lock, then point this batch at the active version."""
    await use_active_projection(conn)


def submissions_router(rt: Runtime) -> KafkaRouter:
    """Keeps every submission read from the topic (idempotent: a repeat changes nothing)."""
    router = KafkaRouter()

    @router.subscriber(
        report_submission_topic(rt.settings),
        group_id=rt.settings.consumer_group(SUBMISSIONS_GROUP),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=the_message,
    )
    async def on_submission(msg: KafkaMessage) -> None:
        record: ConsumerRecord[bytes, bytes] = msg.raw_message
        try:
            sealed = read_submission(record.value or b"")
        except ValueError as exc:
            # Not a submission this code can read: nothing to keep, and it must not block the topic.
            log.warning(
                "skipping record %s:%s of the submissions topic: %s", record.partition, record.offset, exc
            )
            return
        async with rt.pool.acquire() as conn:
            kept = await store_submission(conn, sealed, record.partition, record.offset)
            first = None if kept else await submission(conn, sealed.jurisdiction, Period.parse(sealed.period))
        if first is not None and first["submission_id"] != sealed.submission_id:
            log.warning(
                "record %s:%s is a second submission of %s %s (%s); the first one stands",
                record.partition, record.offset, sealed.jurisdiction, sealed.period, sealed.submission_id,
            )  # fmt: skip

    return router


def kafka_routers(rt: Runtime) -> list[KafkaRouter]:
    """The live consumers: group "reporting" on the case log and "reporting-notices" on notify's notices,
    both with their positions kept inside the active projection version; and the submissions' subscriber."""
    consumer = exactly_once_consumer(
        rt,
        CASE_CONSUMER,
        apply_one,
        apply_batch=apply_batch,
        # Unqualified: resolved through the search_path that prepare aims at the active version.
        positions_table="consumer_positions",
        prepare=aim_at_active_projection,
    )
    notices = topic_consumer(
        rt,
        NOTICES_CONSUMER,
        notice_topic(rt.settings),
        apply_notice,
        positions_table="consumer_positions",
        prepare=aim_at_active_projection,
    )
    return [
        case_events_router(rt, consumer),
        case_events_router(rt, notices),
        submissions_router(rt),
    ]
