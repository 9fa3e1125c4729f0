"""Acknowledgements of notices that must be acknowledged: one acknowledgement by the recipient covers every
channel the notice went out on; the scheduler takes up what stays unacknowledged past its timeout."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from services.notify.adapters import SQL

Q = SQL.queries("acknowledgements")


async def awaiting_ack(conn: asyncpg.Connection, delivered_before: datetime) -> list[asyncpg.Record]:
    """Key-case notices delivered at or before ``delivered_before`` that nobody acknowledged (on any
    channel) and that were not yet taken up a level, locked for the caller (one row per channel: the
    caller groups them by event and recipient)."""
    return await conn.fetch(Q["awaiting"], delivered_before)


async def mark_ack_escalated(conn: asyncpg.Connection, event_id: uuid.UUID, recipient_id: str) -> None:
    await conn.execute(Q["mark_escalated"], event_id, recipient_id)


async def acknowledge(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> datetime | None:
    """Acknowledge the notice of ``delivery_id`` for its recipient (every channel); returns when it was
    first acknowledged, or None for an unknown delivery."""
    row = await conn.fetchrow(Q["notice_of"], delivery_id)
    if row is None:
        return None
    await conn.execute(Q["acknowledge"], row["event_id"], row["recipient_id"])
    first: datetime = await conn.fetchval(Q["first_acknowledged"], row["event_id"], row["recipient_id"])
    return first


async def acknowledged_at(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> datetime | None:
    """When the notice of ``delivery_id`` was first acknowledged by its recipient (any channel)."""
    value: datetime | None = await conn.fetchval(Q["acknowledged_at"], delivery_id)
    return value
