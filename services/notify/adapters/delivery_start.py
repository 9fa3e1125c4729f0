"""Where this database started telling anyone: decided once, at its first start, and kept
(``delivery_start``); case-topic offsets below it, per partition, are history."""

from __future__ import annotations

import json

import asyncpg

from services.notify.adapters import SQL

Q = SQL.queries("delivery_start")


async def lock(conn: asyncpg.Connection) -> None:
    """Wait until no other instance is deciding (for the caller's transaction)."""
    await conn.execute(Q["lock"])


async def decided_offsets(conn: asyncpg.Connection) -> dict[int, int] | None:
    """The offsets decided before, by partition, or None when this database has not decided yet."""
    row = await conn.fetchrow(Q["offsets"])
    if row is None:
        return None
    return {int(p): int(o) for p, o in json.loads(row["offsets"]).items()}


async def applied_before(conn: asyncpg.Connection, consumer: str) -> bool:
    """Whether this database applied case events before (an upgrade): positions or deliveries."""
    return bool(await conn.fetchval(Q["applied"], consumer))


async def has_positions(conn: asyncpg.Connection, consumer: str) -> bool:
    """Whether ``consumer`` has applied anything to this database."""
    return bool(await conn.fetchval(Q["positions"], consumer))


async def save(conn: asyncpg.Connection, topic: str, offsets: dict[int, int], reason: str) -> None:
    await conn.execute(Q["save"], topic, json.dumps({str(p): o for p, o in offsets.items()}), reason)
