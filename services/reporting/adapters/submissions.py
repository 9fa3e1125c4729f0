"""Submitted monthly tables (reporting_meta.submissions), projected from the report-submissions topic, and
submitting a month (报送): the annex tables frozen as sent, recorded on that topic.

The figures and the case-topic positions they came from are read in one snapshot of the live projection
and sealed into a ``report-submitted`` record (``adapters.reports.prepare_submission``). Then, in one
transaction, the record is kept in ``reporting_meta.submissions`` (its unique (jurisdiction, period) key is
the claim: a concurrent second submission of the month waits for the first and is refused naming it) and
published; the transaction commits once Kafka has it, so the month is served as submitted from the moment
the request is answered, and a record that Kafka refused leaves no claim behind. Reporting's own
subscriber reads the record back and notes its topic position; a rebuild refills the table from the topic
(first of a month on the topic wins, which is the order of the claims). Later events for the month show as
adjustment rows of the next month.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker

from cluetrail.errors import RuleViolation
from cluetrail.kafka import report_submission_topic
from cluetrail.settings import CommonSettings
from contracts.reports import ReportSubmitted, submission_bytes
from services.reporting.adapters import SQL
from services.reporting.domain.periods import Period
from services.reporting.domain.submissions import already_submitted

Q = SQL.queries("submissions")


class SubmissionNotRecorded(RuleViolation):
    """Kafka did not acknowledge the submission: nothing was recorded, the month may be submitted again."""

    status_code = 503


async def submitted_at(
    conn: asyncpg.Connection, period: Period, until: datetime | None = None
) -> dict[str, datetime]:
    """When each jurisdiction submitted ``period`` (absent: not yet, or not by ``until``)."""
    rows = await conn.fetch(Q["submitted_at"], str(period), until)
    return {r["jurisdiction"]: r["submitted_at"] for r in rows}


async def submission(conn: asyncpg.Connection, jurisdiction: str, period: Period) -> dict[str, Any] | None:
    """The submission of ``period`` by ``jurisdiction``, with its frozen tables and log positions."""
    row = await conn.fetchrow(Q["submission"], jurisdiction, str(period))
    if row is None:
        return None
    values = dict(row)
    for name in ("submitted_by", "positions", "tables", "document"):
        values[name] = json.loads(values[name])
    return values


async def submissions_of(
    conn: asyncpg.Connection, jurisdiction: str, until: datetime | None = None
) -> dict[str, dict[str, Any]]:
    """Every submission of ``jurisdiction`` (recorded by ``until``, when given), by period."""
    rows = await conn.fetch(Q["submissions_of"], jurisdiction, until)
    return {
        r["period"]: {
            "submission_id": str(r["submission_id"]),
            "submitted_at": r["submitted_at"],
            "tables": json.loads(r["tables"]),
            "positions": json.loads(r["positions"]),
            "projection": r["projection"],
        }
        for r in rows
    }


async def store_submission(
    conn: asyncpg.Connection, submission: ReportSubmitted, partition: int | None, offset: int | None
) -> bool:
    """Keep a submission: the first of a (jurisdiction, period) wins. True if this one is kept now.

    The submitting request records it before publishing (no topic position yet); the subscriber, reading
    it back from the topic, fills in its position (waiting for the request's transaction if it has not
    committed yet), or keeps it when this database has not seen it (a rebuild refilling the table)."""
    document = submission.model_dump(mode="json")
    try:
        # A savepoint inside the caller's transaction: a refused claim leaves that transaction usable.
        async with conn.transaction():
            kept = await conn.fetchval(
                Q["store"],
                submission.submission_id,
                submission.jurisdiction,
                submission.period,
                submission.submitted_at,
                json.dumps(document["submitted_by"], ensure_ascii=False),
                json.dumps(document["positions"]),
                json.dumps(document["tables"], ensure_ascii=False),
                json.dumps(document, ensure_ascii=False),
                partition,
                offset,
            )
    except asyncpg.UniqueViolationError:
        return False  # another submission holds the month
    return bool(kept)


async def publish_submission(broker: KafkaBroker, settings: CommonSettings, sealed: ReportSubmitted) -> None:
    """Publish and wait until Kafka has it (acks=all)."""
    await broker.publish(
        submission_bytes(sealed),
        topic=report_submission_topic(settings),
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
                raise already_submitted(sealed.jurisdiction, period, first)
            await publish(sealed)
    except (KafkaError, TimeoutError, ConnectionError, OSError) as exc:
        raise SubmissionNotRecorded(
            f"Kafka did not acknowledge the submission ({type(exc).__name__}); nothing was recorded, "
            "submit again",
            rule="reporting.submission-unrecorded",
        ) from None
