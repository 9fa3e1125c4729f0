"""The notify tables: deliveries (one per event and recipient) and delivery_attempts (the delivery log).

Every function takes the connection of the caller's transaction, so the consumer can store deliveries
with its position, and the worker can hold the row lock of a claimed delivery while it sends.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from contracts.envelope import uuid7
from services.notify.domain.cases import CaseFacts

DELIVERY_COLUMNS = (
    "delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent, status, "
    "attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at, "
    "dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at"
)


QUALIFIED = ", ".join("d." + c.strip() for c in DELIVERY_COLUMNS.split(","))


def new_delivery_id() -> uuid.UUID:
    return uuid7()


@dataclass(frozen=True)
class NewDelivery:
    """A notice to send, decided while consuming its event."""

    delivery_id: uuid.UUID
    event_id: uuid.UUID
    recipient_id: str
    case_id: uuid.UUID
    seq: int
    event_type: str
    jurisdiction: str
    body: str
    traceparent: str | None
    channel: str = "webhook"
    # Set when the notice could not even be written (a broken template): the delivery is dead at once.
    failure: str | None = None
    needs_ack: bool = False


async def add_delivery(conn: asyncpg.Connection, delivery: NewDelivery) -> bool:
    """Store a delivery unless this event was already routed to this recipient on this channel; True
    when stored now."""
    inserted = await conn.fetchval(
        "INSERT INTO deliveries (delivery_id, event_id, recipient_id, case_id, seq, event_type, "
        "jurisdiction, body, traceparent, channel, status, last_error, dead_at, needs_ack) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "CASE WHEN $11::text IS NULL THEN 'pending' ELSE 'dead' END, $11::text, "
        "CASE WHEN $11::text IS NULL THEN NULL ELSE clock_timestamp() END, $12) "
        "ON CONFLICT (event_id, recipient_id, channel) DO NOTHING RETURNING true",
        delivery.delivery_id,
        delivery.event_id,
        delivery.recipient_id,
        delivery.case_id,
        delivery.seq,
        delivery.event_type,
        delivery.jurisdiction,
        delivery.body,
        delivery.traceparent,
        delivery.channel,
        delivery.failure,
        delivery.needs_ack,
    )
    return bool(inserted)


# A due delivery whose recipient has no earlier pending notice of the same case: notices of one case
# reach one recipient in event order. SKIP LOCKED lets several senders (and instances) share the queue
# without two of them sending the same delivery at once.
_READY = (
    "d.status = 'pending' AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.status = 'pending' "
    "AND e.recipient_id = d.recipient_id AND e.channel = d.channel AND e.case_id = d.case_id "
    "AND e.seq < d.seq)"
)


async def claim_due(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """Lock one due, ready delivery for the caller's transaction, or None."""
    return await conn.fetchrow(
        f"SELECT {QUALIFIED} FROM deliveries d "
        f"WHERE {_READY} AND d.next_attempt_at <= clock_timestamp() "
        "ORDER BY d.next_attempt_at, d.seq LIMIT 1 FOR UPDATE OF d SKIP LOCKED"
    )


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    """When the earliest ready delivery falls due (maybe already: then it is being sent by someone)."""
    value: datetime | None = await conn.fetchval(
        f"SELECT min(d.next_attempt_at) FROM deliveries d WHERE {_READY}"
    )
    return value


async def record_attempt(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempt: int,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    await conn.execute(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at, status_code, error, duration_ms) "
        "VALUES ($1, $2, clock_timestamp(), $3, $4, $5)",
        delivery_id,
        attempt,
        status_code,
        error,
        duration_ms,
    )


async def mark_delivered(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, round_attempts: int, at: datetime
) -> None:
    """Record the delivery as delivered ``at`` (notify's clock: the acknowledgement timeout counts from
    it, on the same clock the scheduler reads)."""
    await conn.execute(
        "UPDATE deliveries SET status = 'delivered', attempts = $2, round_attempts = $3, "
        "delivered_at = $4, last_error = NULL WHERE delivery_id = $1",
        delivery_id,
        attempts,
        round_attempts,
        at,
    )


async def schedule_retry(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempts: int,
    round_attempts: int,
    delay: float,
    error: str,
) -> None:
    await conn.execute(
        "UPDATE deliveries SET attempts = $2, round_attempts = $3, last_error = $5, "
        "next_attempt_at = clock_timestamp() + make_interval(secs => $4) WHERE delivery_id = $1",
        delivery_id,
        attempts,
        round_attempts,
        delay,
        error,
    )


async def mark_dead(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, round_attempts: int, error: str
) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'dead', attempts = $2, round_attempts = $3, last_error = $4, "
        "dead_at = clock_timestamp(), dead_letter_published_at = NULL WHERE delivery_id = $1",
        delivery_id,
        attempts,
        round_attempts,
        error,
    )


async def claim_unpublished_dead(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    """Dead deliveries whose dead letter is not yet on Kafka, locked for the caller."""
    return await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries "
        "WHERE status = 'dead' AND dead_letter_published_at IS NULL "
        "ORDER BY dead_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )


async def mark_dead_letter_published(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE deliveries SET dead_letter_published_at = clock_timestamp() WHERE delivery_id = $1",
        delivery_id,
    )


async def find_deliveries(
    conn: asyncpg.Connection,
    *,
    case_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    recipient_id: str | None = None,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries "
        "WHERE ($1::uuid IS NULL OR case_id = $1) AND ($2::text IS NULL OR status = $2) "
        "AND ($4::text IS NULL OR recipient_id = $4) "
        "ORDER BY case_id, seq, recipient_id, channel, created_at LIMIT $3",
        case_id,
        status,
        limit,
        recipient_id,
    )


async def get_delivery(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = $1", delivery_id
    )


async def attempts_of(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT attempt, at, status_code, error, duration_ms FROM delivery_attempts "
        "WHERE delivery_id = $1 ORDER BY attempt",
        delivery_id,
    )


async def reopen_for_resend(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> str | None:
    """Put a delivered or dead delivery back in the queue with a fresh attempt budget.

    Returns the status it had (None if unknown); a pending delivery is left alone.
    """
    row: dict[str, Any] | None = await conn.fetchrow(
        "SELECT status FROM deliveries WHERE delivery_id = $1 FOR UPDATE", delivery_id
    )
    if row is None or row["status"] == "pending":
        return None if row is None else "pending"
    await conn.execute(
        "UPDATE deliveries SET status = 'pending', round_attempts = 0, next_attempt_at = clock_timestamp(), "
        "resent_at = clock_timestamp(), dead_at = NULL WHERE delivery_id = $1",
        delivery_id,
    )
    return str(row["status"])


CASE_COLUMNS = (
    "case_id, jurisdiction, last_seq, grade, key_case, responsible_department, police_transferred_on, "
    "criminal_filed_on, trial_and_return_by, supervision_from, clearance_by, closed"
)


async def load_case(conn: asyncpg.Connection, case_id: uuid.UUID) -> CaseFacts | None:
    """The case's facts, locked for the caller's transaction (events of one case apply one at a time)."""
    row = await conn.fetchrow(f"SELECT {CASE_COLUMNS} FROM cases WHERE case_id = $1 FOR UPDATE", case_id)
    return CaseFacts(**dict(row)) if row is not None else None


async def save_case(conn: asyncpg.Connection, facts: CaseFacts) -> None:
    values = [getattr(facts, c.strip()) for c in CASE_COLUMNS.split(",")]
    updates = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in CASE_COLUMNS.split(",")[1:])
    await conn.execute(
        f"INSERT INTO cases ({CASE_COLUMNS}) VALUES ({', '.join(f'${i + 1}' for i in range(len(values)))}) "
        f"ON CONFLICT (case_id) DO UPDATE SET {updates}, updated_at = now()",
        *values,
    )


async def open_key_cases(conn: asyncpg.Connection) -> list[CaseFacts]:
    """Key cases not closed that have a limit to remind of."""
    rows = await conn.fetch(
        f"SELECT {CASE_COLUMNS} FROM cases WHERE key_case AND NOT closed "
        "AND (trial_and_return_by IS NOT NULL OR supervision_from IS NOT NULL OR clearance_by IS NOT NULL)"
    )
    return [CaseFacts(**dict(r)) for r in rows]


async def awaiting_ack(conn: asyncpg.Connection, delivered_before: datetime) -> list[asyncpg.Record]:
    """Key-case notices delivered at or before ``delivered_before`` that nobody acknowledged (on any
    channel) and that were not yet taken up a level, locked for the caller (one row per channel: the
    caller groups them by event and recipient)."""
    return await conn.fetch(
        f"SELECT {QUALIFIED} FROM deliveries d WHERE d.needs_ack AND d.status = 'delivered' "
        "AND d.acknowledged_at IS NULL AND d.ack_escalated_at IS NULL AND d.delivered_at <= $1 "
        "AND NOT EXISTS (SELECT 1 FROM deliveries a WHERE a.event_id = d.event_id "
        "AND a.recipient_id = d.recipient_id AND a.acknowledged_at IS NOT NULL) "
        "ORDER BY d.delivered_at FOR UPDATE OF d SKIP LOCKED",
        delivered_before,
    )


async def mark_ack_escalated(conn: asyncpg.Connection, event_id: uuid.UUID, recipient_id: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET ack_escalated_at = clock_timestamp() "
        "WHERE event_id = $1 AND recipient_id = $2",
        event_id,
        recipient_id,
    )


async def acknowledge(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> datetime | None:
    """Acknowledge the notice of ``delivery_id`` for its recipient (every channel); returns when it was
    first acknowledged, or None for an unknown delivery."""
    row = await conn.fetchrow(
        "SELECT event_id, recipient_id FROM deliveries WHERE delivery_id = $1", delivery_id
    )
    if row is None:
        return None
    await conn.execute(
        "UPDATE deliveries SET acknowledged_at = clock_timestamp() "
        "WHERE event_id = $1 AND recipient_id = $2 AND acknowledged_at IS NULL",
        row["event_id"],
        row["recipient_id"],
    )
    first: datetime = await conn.fetchval(
        "SELECT min(acknowledged_at) FROM deliveries WHERE event_id = $1 AND recipient_id = $2",
        row["event_id"],
        row["recipient_id"],
    )
    return first


async def claim_unpublished_notices(conn: asyncpg.Connection, limit: int = 200) -> list[asyncpg.Record]:
    """Notices not yet on Kafka, oldest first; the caller holds the publisher lock."""
    return await conn.fetch(
        "SELECT id, stream, kind, document FROM notices WHERE published_at IS NULL ORDER BY id LIMIT $1",
        limit,
    )


async def mark_notices_published(conn: asyncpg.Connection, ids: list[int]) -> None:
    await conn.execute(
        "UPDATE notices SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])", ids
    )
