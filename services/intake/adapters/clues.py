"""Accepted clues: each stored before it is published, by the relay, which reads this table as its outbox
(``cluetrail.outbox``, table ``accepted_clues``); one case per Idempotency-Key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import asyncpg

from services.intake.adapters import SQL

Q = SQL.queries("clues")
# The relay's table: rows without published_at are published in id order.
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


async def reset_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release (asyncpg rolls back an open transaction first): intake's sessions keep
    no state, so a release costs no round trip, where asyncpg's default reset query would cost one."""


async def insert_or_existing(
    conn: asyncpg.Connection, clue: AcceptedClue, traceparent: str | None
) -> tuple[AcceptedClue, bool]:
    """Store a new clue for the relay to publish, or find the one stored earlier under the same
    idempotency key.

    Returns the stored clue and whether it is the one just inserted. Concurrent requests with one key
    meet at the unique constraint, so only one case is ever stored per key, and it is published once:
    by the relay, never by a request. ``traceparent`` is the request's, for the relay's publish span.
    """
    row = await conn.fetchrow(
        Q["insert"],
        clue.idempotency_key,
        clue.request_digest,
        clue.case_id,
        clue.event_id,
        clue.receipt_code,
        clue.event,
        clue.recorded_at,
        traceparent,
    )
    if row is not None:
        return _accepted(row), True
    existing = await conn.fetchrow(Q["by_key"], clue.idempotency_key)
    if existing is None:  # the key's row cannot vanish: nothing ever deletes from this table
        raise LookupError(f"idempotency key {clue.idempotency_key!r} conflicted but has no row")
    return _accepted(existing), False


async def published_at(conn: asyncpg.Connection, case_id: uuid.UUID) -> datetime | None:
    """When the relay published the clue of ``case_id`` (None: not yet)."""
    return cast(datetime | None, await conn.fetchval(Q["published_at"], case_id))


async def by_receipt(conn: asyncpg.Connection, receipt_code: str) -> AcceptedClue | None:
    """The clue this intake accepted under ``receipt_code`` (published or still waiting for Kafka; the
    receipt projection may lag behind either way)."""
    row = await conn.fetchrow(Q["by_receipt"], receipt_code)
    return None if row is None else _accepted(row)
