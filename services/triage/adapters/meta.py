"""Facts about triage's database itself (``triage_meta``), such as that it has caught up with the log once,
and the lock a catch-up holds so that two triage processes on one database never fold the log side by side."""

from __future__ import annotations

import json

import asyncpg

from services.triage.adapters import SQL

Q = SQL.queries("meta")
CAUGHT_UP = "caught-up-with-log"
CATCH_UP_LOCK = "triage-catch-up"


async def get(conn: asyncpg.Connection, key: str) -> object | None:
    raw = await conn.fetchval(Q["get"], key)
    return None if raw is None else json.loads(raw)


async def put(conn: asyncpg.Connection, key: str, value: object) -> None:
    await conn.execute(Q["set"], key, json.dumps(value))


async def lock_catch_up(conn: asyncpg.Connection) -> None:
    """Wait for, then hold, the catch-up lock (a session lock: released by ``unlock_catch_up``)."""
    await conn.execute(Q["lock"], CATCH_UP_LOCK)


async def unlock_catch_up(conn: asyncpg.Connection) -> None:
    await conn.execute(Q["unlock"], CATCH_UP_LOCK)
