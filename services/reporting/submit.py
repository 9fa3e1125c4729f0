"""Submitting a month (报送): the annex tables frozen as sent, recorded on the report-submissions topic.

The figures and the case-topic positions they came from are read in one snapshot of the live projection
and sealed into a ``report-submitted`` record (contracts.reports). Then, in one transaction, the record is
kept in ``reporting_meta.submissions`` (its unique (jurisdiction, period) key is the claim: a concurrent
second submission of the month waits for the first and is refused naming it) and published; the
transaction commits once Kafka has it, so the month is served as submitted from the moment the request
is answered, and a record that Kafka refused leaves no claim behind. Reporting's own subscriber reads the
record back and notes its topic position; a rebuild refills the table from the topic (first of a month
on the topic wins, which is the order of the claims). Later events for the month show as adjustment rows
of the next month.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaMessage, KafkaRouter

from cluetrail.errors import InvalidInput, RuleViolation
from cluetrail.kafka import report_submission_topic
from cluetrail.service import Runtime
from cluetrail.settings import CommonSettings
from contracts.envelope import Actor
from contracts.jurisdictions import JurisdictionRegistry
from contracts.reports import ReportSubmitted, read_submission, seal_submission, submission_bytes
from services.reporting.adapters.projector import stored_positions
from services.reporting.adapters.submissions import store_submission, submission
from services.reporting.adapters.versions import readable_schema, use_schema
from services.reporting.domain.periods import Period
from services.reporting.reports import ReportQuery, Scope, build_tables

log = logging.getLogger(__name__)
SUBMITTING_LEVELS = ("community", "street", "district")
CONSUMER = "reporting"


class AlreadySubmitted(RuleViolation):
    """A month is submitted once; corrections go into the next month's adjustment rows."""


class SubmissionNotRecorded(RuleViolation):
    """Kafka did not acknowledge the submission: nothing was recorded, the month may be submitted again."""

    status_code = 503


def _already(jurisdiction: str, period: Period, first: dict[str, Any]) -> AlreadySubmitted:
    by = first["submitted_by"]
    return AlreadySubmitted(
        f"{jurisdiction} submitted {period} already (submission {first['submission_id']}, "
        f"{first['submitted_at'].isoformat()}, by {by.get('id')}); later changes appear as adjustment rows",
        rule="reporting.submitted-once",
    )


async def prepare_submission(
    conn: asyncpg.Connection,
    registry: JurisdictionRegistry,
    settings: CommonSettings,
    actor: Actor,
    jurisdiction: str,
    period: Period,
    now: datetime,
) -> ReportSubmitted:
    """The annex tables of ``period`` for ``jurisdiction`` and the log positions, read in one snapshot."""
    if jurisdiction not in registry or registry.get(jurisdiction).level not in SUBMITTING_LEVELS:
        raise InvalidInput(
            f"{jurisdiction} does not submit monthly tables (communities, streets and districts do)",
            rule="reporting.submission-level",
        )
    if period > Period.of(now):
        raise InvalidInput(f"{period} has not begun", rule="reporting.period")
    first = await submission(conn, jurisdiction, period)
    if first is not None:
        raise _already(jurisdiction, period, first)
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        schema = await readable_schema(conn, None)
        await use_schema(conn, schema)
        positions = await stored_positions(conn, CONSUMER, settings.case_topic)
        query = ReportQuery("annex", period, live=True)
        tables = await build_tables(conn, registry, query, Scope(jurisdiction), now)
    return seal_submission(
        jurisdiction=jurisdiction,
        period=str(period),
        submitted_by=actor,
        projection=schema,
        case_topic=settings.case_topic,
        positions=positions,
        tables=[
            {"name": t.name, "title": t.title, "columns": t.as_json()["columns"], "rows": t.rows}
            for t in tables
        ],
    )


async def publish_submission(rt: Runtime, sealed: ReportSubmitted) -> None:
    """Publish and wait until Kafka has it (acks=all)."""
    await rt.broker.publish(
        submission_bytes(sealed),
        topic=report_submission_topic(rt.settings),
        key=sealed.jurisdiction.encode(),
        correlation_id=str(sealed.submission_id),
    )


async def record_submission(
    conn: asyncpg.Connection, sealed: ReportSubmitted, publish: Callable[[ReportSubmitted], Awaitable[None]]
) -> None:
    """Claim the month for ``sealed`` and publish it, in one transaction: ``AlreadySubmitted`` naming the
    first submission when the month is taken (a concurrent claim is waited for), ``SubmissionNotRecorded``
    when Kafka does not acknowledge (the claim is rolled back)."""
    period = Period.parse(sealed.period)
    try:
        async with conn.transaction():
            if not await store_submission(conn, sealed, None, None):
                # The conflicting claim is committed (the insert waited for it), so this reads it.
                first = await submission(conn, sealed.jurisdiction, period)
                if first is None:
                    raise RuntimeError(f"the claim on {sealed.jurisdiction} {period} vanished")
                raise _already(sealed.jurisdiction, period, first)
            await publish(sealed)
    except (KafkaError, TimeoutError, ConnectionError, OSError) as exc:
        raise SubmissionNotRecorded(
            f"Kafka did not acknowledge the submission ({type(exc).__name__}); nothing was recorded, "
            "submit again",
            rule="reporting.submission-unrecorded",
        ) from None


def submissions_router(rt: Runtime) -> KafkaRouter:
    """Keeps every submission read from the topic (idempotent: a repeat changes nothing)."""
    router = KafkaRouter()

    @router.subscriber(
        report_submission_topic(rt.settings),
        group_id=rt.settings.consumer_group("reporting-submissions"),
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
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
