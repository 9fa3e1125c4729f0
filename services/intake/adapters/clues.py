"""Accepted clues: each stored before it is published, by the relay, which reads this table as its outbox
(``cluetrail.outbox``, table ``accepted_clues``); one case per Idempotency-Key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import asyncpg

from cluetrail.db import Gathered
from services.intake.adapters import SQL

Q = SQL.queries("clues")
# The relay's table (each row the first event of a case of its own, so in no order among them).
OUTBOX_TABLE = "accepted_clues"


@dataclass(frozen=True)
class AcceptedClue:
    """A stored clue: its case, receipt code and the event bytes that go (or went) to Kafka."""

    idempotency_key: str | None
    request_digest: str
    case_id: uuid.UUID
    event_id: uuid.UUID
    receipt_code: str
    event: bytes
    recorded_at: datetime
    published_at: datetime | None = None
    # The storing request's trace context, in which the relay publishes the clue (not read back).
    traceparent: str | None = None

    def outbox_row(self) -> dict[str, Any]:
        """The clue as the relay reads its table's rows (``cluetrail.outbox.case_event_rows``)."""
        return {
            "event_id": self.event_id,
            "case_id": self.case_id,
            "event": self.event,
            "traceparent": self.traceparent,
            "origin_region": None,
        }


def _accepted(row: asyncpg.Record) -> AcceptedClue:
    return AcceptedClue(
        idempotency_key=row["idempotency_key"],
        request_digest=row["request_digest"],
        case_id=row["case_id"],
        event_id=row["event_id"],
        receipt_code=row["receipt_code"],
        event=bytes(row["event"]),
        recorded_at=row["recorded_at"],
        published_at=row["published_at"],
    )


class ClueStore:
    """Stores new clues for the relay to publish, the clues of concurrent requests in one statement
    (``cluetrail.db.Gathered``): under load a clue costs a share of one insert and one commit."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._insert: Gathered[AcceptedClue, bool] = Gathered(self._insert_many)

    async def insert_or_existing(self, clue: AcceptedClue) -> tuple[AcceptedClue, bool]:
        """Store a new clue for the relay to publish, or find the one stored earlier under the same
        idempotency key.

        Returns the stored clue and whether it is the one just inserted. Concurrent requests with one key
        meet at the unique constraint (in one statement or in two), so only one case is ever stored per
        key, and it is published once: by the relay, never by a request.
        """
        if await self._insert(clue):
            return clue, True
        async with self._pool.acquire() as conn:
            existing = await conn.fetchrow(Q["by_key"], clue.idempotency_key)
        if existing is None:  # the key's row cannot vanish: nothing ever deletes from this table
            raise LookupError(f"idempotency key {clue.idempotency_key!r} conflicted but has no row")
        return _accepted(existing), False

    async def _insert_many(self, clues: list[AcceptedClue]) -> list[bool]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                Q["insert"],
                [c.idempotency_key for c in clues],
                [c.request_digest for c in clues],
                [c.case_id for c in clues],
                [c.event_id for c in clues],
                [c.receipt_code for c in clues],
                [c.event for c in clues],
                [c.recorded_at for c in clues],
                [c.traceparent for c in clues],
            )
        inserted = {row["event_id"] for row in rows}
        return [c.event_id in inserted for c in clues]


async def published_at(conn: asyncpg.Connection, case_id: uuid.UUID) -> datetime | None:
    """When the relay published the clue of ``case_id`` (None: not yet)."""
    return cast(datetime | None, await conn.fetchval(Q["published_at"], case_id))


async def by_receipt(conn: asyncpg.Connection, receipt_code: str) -> AcceptedClue | None:
    """The clue this intake accepted under ``receipt_code`` (published or still waiting for Kafka; the
    receipt projection may lag behind either way)."""
    row = await conn.fetchrow(Q["by_receipt"], receipt_code)
    return None if row is None else _accepted(row)
