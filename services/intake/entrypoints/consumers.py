"""Intake's Kafka subscribers: the receipt projection (consumer group ``intake-receipts``) folds every case
event into what a reporter may see, and ``intake-receipt-notices`` keeps notify's notices to reporters."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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
from services.intake.domain.receipts import BEIJING, ChainBroken, ReceiptStep, follow, step_of

RECEIPTS_GROUP = "intake-receipts"
NOTICES_GROUP = "intake-receipt-notices"


async def apply_to_receipts(conn: asyncpg.Connection, incoming: Incoming) -> None:
    """Fold one case event into the receipt projection (in the consumer's transaction): a batch of one."""
    await apply_batch_to_receipts(conn, [incoming])


async def apply_batch_to_receipts(conn: asyncpg.Connection, events: Sequence[Incoming]) -> None:
    """Fold a batch's case events into the receipt projection in three round trips for the whole batch:
    the receipts of its cases read (and locked) at once, each event folded in turn in memory as it would
    be alone, and the receipts and steps that changed written at once. A chain break rejects the batch;
    the consumer then applies it record by record, so only the breaking record is dead-lettered."""
    held = {
        receipt.case_id: (receipt.receipt_digest, receipt.state)
        for receipt in await receipts.by_cases(conn, list({incoming.event.case_id for incoming in events}))
    }
    changed: dict[uuid.UUID, receipts.Receipt] = {}
    steps: list[tuple[uuid.UUID, int, ReceiptStep]] = []
    for incoming in events:
        event = incoming.event
        digest, before = held.get(event.case_id, (None, None))
        try:
            state = follow(before, event)
        except ChainBroken as exc:
            raise Rejected(str(exc)) from exc
        if state is None:
            continue
        if isinstance(event, ClueReported):
            digest = event.payload.receipt_digest
        elif digest is None:  # follow() admits no other first event; kept for the type checker
            raise Rejected(f"case {event.case_id}: no clue-reported before {event.type}")
        held[event.case_id] = (digest, state)
        changed[event.case_id] = receipts.Receipt(digest, event.case_id, state, event.recorded_at)
        step = step_of(before, event)
        if step is not None:
            steps.append((event.case_id, event.seq, step))
    await receipts.save_all(conn, list(changed.values()))
    await receipts.add_steps(conn, steps)


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
        case_events_router(
            rt,
            exactly_once_consumer(rt, RECEIPTS_GROUP, apply_to_receipts, apply_batch=apply_batch_to_receipts),
            background=True,
        ),
        case_events_router(rt, notices),
    ]
