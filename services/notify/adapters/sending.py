"""Sending deliveries: a sender claims a due, ready delivery and counts the attempt in one committed
statement before anything is sent, then settles it (delivered, retried after a backoff, or dead); a dead
delivery's dead letter is published afterwards.

A delivery is ready when no earlier delivery of its case to the same recipient on the same channel, in the
same ordering, is pending or dead: notices of one case reach one recipient in order, and a dead one holds
the later ones until it is resent.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.notify.adapters import SQL

Q = SQL.queries("sending")


async def claim_due(conn: asyncpg.Connection, lease_seconds: float) -> asyncpg.Record | None:
    """Take one due, ready delivery and count the attempt about to be made, or None.

    The attempt (``attempts``, ``round_attempts``, ``last_attempt_at`` and its row in the attempt log,
    without an outcome) is written before anything is sent, by one statement that commits on its own when
    the caller is outside a transaction: a notify killed during the send leaves the attempt counted. For
    ``lease_seconds`` nobody else takes the delivery (it is not due before ``sending_until``); a sender still
    silent after that is presumed dead and the delivery is sent again (the receiver drops the repeat by its
    delivery id)."""
    row: asyncpg.Record | None = await conn.fetchrow(Q["claim"], lease_seconds)
    return row


async def lock_claimed(conn: asyncpg.Connection, delivery_id: uuid.UUID, attempt: int) -> bool:
    """Lock the delivery to settle ``attempt``; False when it is no longer that attempt's to settle (its
    lease ran out and another sender took it, or it is no longer pending)."""
    current = await conn.fetchval(Q["lock_claimed"], delivery_id)
    return bool(current == attempt)


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    """When the earliest ready delivery falls due (maybe already: then it is being sent by someone)."""
    value: datetime | None = await conn.fetchval(Q["next_due"])
    return value


async def record_outcome(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempt: int,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    """What came of an attempt counted by ``claim_due``."""
    await conn.execute(Q["record_outcome"], delivery_id, attempt, status_code, error, duration_ms)


async def mark_delivered(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, round_attempts: int, at: datetime
) -> None:
    """Record the delivery as delivered ``at`` (notify's clock: the acknowledgement timeout counts from
    it, on the same clock the scheduler reads)."""
    await conn.execute(Q["delivered"], delivery_id, attempts, round_attempts, at)


async def bring_forward(conn: asyncpg.Connection, recipient_id: str, channel: str) -> int:
    """The recipient answers again: its deliveries waiting out a backoff are due now, so a receiver back
    from an outage gets everything at once rather than over the next few minutes."""
    status = await conn.execute(Q["bring_forward"], recipient_id, channel)
    return int(str(status).rsplit(" ", 1)[-1])


async def schedule_retry(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempts: int,
    round_attempts: int,
    delay: float,
    error: str,
) -> None:
    await conn.execute(Q["retry"], delivery_id, attempts, round_attempts, delay, error)


async def mark_dead(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, round_attempts: int, error: str
) -> None:
    await conn.execute(Q["dead"], delivery_id, attempts, round_attempts, error)


async def claim_unpublished_dead(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    """Dead deliveries whose dead letter is not yet on Kafka, locked for the caller."""
    return await conn.fetch(Q["unpublished_dead"], limit)


async def mark_dead_letter_published(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> None:
    await conn.execute(Q["dead_letter_published"], delivery_id)
