"""The dead-letter publisher, run by the delivery worker: a dead delivery's dead letter (the notice with its
acknowledgement token withheld, and every attempt) goes to the dead-letter topic after its death is
committed, at least once, and a ``delivery-dead`` notice alerts the operations recipients of its place."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from cluetrail.settings import CommonSettings
from services.notify.adapters import cases, deliveries, sending
from services.notify.adapters.notifier import NoticeDecision, Notifier
from services.notify.domain.signing import withhold_token


class DeadLetterPublisher:
    """Publishes the dead letters of newly dead deliveries; ``publish()`` once (the worker repeats it)."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        broker: KafkaBroker,
        settings: CommonSettings,
        notifier: Notifier | None,
        alerted: Callable[[], None],
    ) -> None:
        self._pool = pool
        self._broker = broker
        self._settings = settings
        self._notifier = notifier
        # Called once alerts are committed: their deliveries are due, their notices to be published.
        self._alerted = alerted

    async def publish(self) -> int:
        """Publish the dead letter of each newly dead delivery and record the alert to the operations
        recipients of its place (an alert that dies itself raises no further alert)."""
        alerted = 0
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await sending.claim_unpublished_dead(conn)
            for row in rows:
                attempts = await deliveries.attempts_of(conn, row["delivery_id"])
                body = withhold_token(row["body"]) if row["needs_ack"] else row["body"]
                document = dead_letter_document(row, attempts, body)
                await self._broker.publish(
                    json.dumps(document, ensure_ascii=False, default=str).encode(),
                    topic=self._settings.dead_letter_topic,
                    key=str(row["case_id"]).encode(),
                    headers={"dead-letter-reason": str(document["reason"])[:200], "consumer": "notify"},
                )
                await sending.mark_dead_letter_published(conn, row["delivery_id"])
                if self._notifier is not None and row["event_type"] != "delivery-dead":
                    alerted += await alert(self._notifier, conn, row, str(document["reason"]))
        if alerted:
            self._alerted()
        return len(rows)


async def alert(notifier: Notifier, conn: asyncpg.Connection, row: asyncpg.Record, reason: str) -> int:
    """Record the ``delivery-dead`` notice of dead delivery ``row`` to the operations recipients of its
    place (not the one that failed); 1 when recorded now, 0 when it was before."""
    book = notifier.book
    failed = book.get(row["recipient_id"])
    routings = [
        r
        for r in book.routings_of_notice("delivery-dead", row["jurisdiction"])
        if r.recipient.id != row["recipient_id"]
    ]
    is_case = await cases.is_case(conn, row["case_id"])
    decision = NoticeDecision(
        kind="delivery-dead",
        stream=str(row["case_id"]),
        dedupe_key=f"delivery-dead/{row['delivery_id']}/{row['dead_at'].isoformat()}",
        jurisdiction=row["jurisdiction"],
        occurred_at=row["dead_at"],
        facts={
            "failed_delivery_id": str(row["delivery_id"]),
            "failed_recipient_id": row["recipient_id"],
            "failed_recipient_name": failed.name if failed else row["recipient_id"],
            "failed_channel": row["channel"],
            "event_type": row["event_type"],
            "seq": row["seq"],
            "reason": reason,
        },
        routings=routings,
        case_id=row["case_id"] if is_case else None,
        causation_id=row["delivery_id"],
    )
    return 1 if await notifier.record(conn, decision) is not None else 0


def dead_letter_document(row: asyncpg.Record, attempts: list[asyncpg.Record], body: str) -> dict[str, Any]:
    """What an operator needs to understand and resend a dead delivery (a body that is not JSON, a damaged
    row, is kept as text: the dead letter must never fail to be written)."""
    try:
        sent: Any = json.loads(body)
    except ValueError:
        sent = body
    return {
        "kind": "notify-delivery",
        "consumer": "notify",
        "reason": f"undeliverable after {row['round_attempts']} attempts: {row['last_error']}",
        "recipient_id": row["recipient_id"],
        "delivery": {
            "delivery_id": str(row["delivery_id"]),
            "event_id": str(row["event_id"]),
            "event_type": row["event_type"],
            "case_id": str(row["case_id"]),
            "seq": row["seq"],
            "jurisdiction": row["jurisdiction"],
            "attempts": row["attempts"],
            "created_at": row["created_at"].isoformat(),
            "dead_at": row["dead_at"].isoformat() if row["dead_at"] else None,
            "body": sent,
        },
        "attempts": [
            {
                "attempt": a["attempt"],
                "at": a["at"].isoformat(),
                "status_code": a["status_code"],
                "error": a["error"] if a["settled"] else "no outcome recorded (notify stopped during it)",
            }
            for a in attempts
        ],
        "dead_lettered_at": datetime.now(UTC).isoformat(),
    }
