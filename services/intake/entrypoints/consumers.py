"""Intake's Kafka subscribers: the receipt projection (consumer group ``intake-receipts``) folds every case
event into what a reporter may see, and ``intake-receipt-notices`` keeps notify's notices to reporters."""

from __future__ import annotations

import contextlib
from datetime import date

import asyncpg
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaRouter
from pydantic import ValidationError

from cluetrail.consume import Incoming, Rejected
from cluetrail.kafka import notice_topic
from cluetrail.service import Runtime, case_events_router, exactly_once_consumer, topic_consumer
from contracts.events import ClueReported
from contracts.notices import Notice
from services.intake.adapters import receipts
from services.intake.domain.receipts import BEIJING, ChainBroken, follow, step_of

RECEIPTS_GROUP = "intake-receipts"
NOTICES_GROUP = "intake-receipt-notices"


async def apply_to_receipts(conn: asyncpg.Connection, incoming: Incoming) -> None:
    """Fold one case event into the receipt projection (in the consumer's transaction)."""
    event = incoming.event
    if isinstance(event, ClueReported):
        # The usual case, a new case's first event, takes one statement; a case the projection already
        # holds (a repeat, a break) goes the general way below.
        with contextlib.suppress(ChainBroken):
            opening = follow(None, event)
            step = step_of(None, event)
            if (
                opening is not None
                and step is not None
                and await receipts.open_new(
                    conn, event.payload.receipt_digest, event.case_id, opening, event.recorded_at, step
                )
            ):
                return
    current = await receipts.by_case(conn, event.case_id)
    before = None if current is None else current.state
    try:
        state = follow(before, event)
    except ChainBroken as exc:
        raise Rejected(str(exc)) from exc
    if state is None:
        return
    if isinstance(event, ClueReported):
        digest = event.payload.receipt_digest
    elif current is not None:
        digest = current.receipt_digest
    else:  # follow() admits no other first event; kept for the type checker
        raise Rejected(f"case {event.case_id}: no clue-reported before {event.type}")
    await receipts.save(conn, digest, event.case_id, state, event.recorded_at)
    step = step_of(before, event)
    if step is not None:
        await receipts.add_step(conn, event.case_id, event.seq, step)


async def apply_reporter_notice(conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
    """Keep notify's notices to a case's reporter (``reporter-update``) for its receipt; other notices are
    the offices' business and only advance the position."""
    try:
        notice = Notice.model_validate_json(record.value or b"")
    except ValidationError as exc:
        raise Rejected(f"not a notice: {exc.errors()[0]['msg']}") from exc
    if notice.kind != "reporter-update" or notice.case_id is None:
        return
    text = notice.facts.get("text")
    if not isinstance(text, str) or not text:
        raise Rejected(f"reporter notice {notice.notice_id} has no text")
    stage = notice.facts.get("stage")
    day = notice.facts.get("on")
    on_day = (
        date.fromisoformat(day) if isinstance(day, str) else notice.occurred_at.astimezone(BEIJING).date()
    )
    await receipts.add_message(
        conn,
        notice.notice_id,
        notice.case_id,
        stage if isinstance(stage, str) else None,
        text,
        on_day,
        notice.recorded_at,
    )


def kafka_routers(rt: Runtime) -> list[KafkaRouter]:
    """The receipt projection's subscribers: the case topic, and notify's notices to reporters."""
    notices = topic_consumer(rt, NOTICES_GROUP, notice_topic(rt.settings), apply_reporter_notice)
    return [
        case_events_router(rt, exactly_once_consumer(rt, RECEIPTS_GROUP, apply_to_receipts)),
        case_events_router(rt, notices),
    ]
