"""PostgreSQL set-up written once: each service's own database, its migrations, its pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Generic, TypeVar

import asyncpg

log = logging.getLogger(__name__)

# The database cannot be reached, or the session was lost under a statement: refused connections, a server
# shutting down or starting up, a connection lost mid-statement, no connection free in time (TimeoutError is
# an OSError). asyncpg reports some lost sessions as an InterfaceError ("connection is closed") or, when the
# server's farewell arrives in the middle of the protocol, as an InternalClientError ("cannot switch to
# state 12; another operation (2) is in progress"): neither says anything about the work being done, so
# both are an outage too — answered 503 by a request, retried by a consumer or a loop, never dead-lettered.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)

# Tables every consuming service needs: where it stands in each partition of each topic.
INFRA_MIGRATIONS = resources.files("cluetrail").joinpath("sql")


async def ensure_database(dsn: str) -> None:
    """Create the database named in ``dsn`` if it does not exist (connecting to ``postgres``)."""
    base, _, name = dsn.rpartition("/")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"refusing unusual database name {name!r}")
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Created by a concurrent start (the workers of one service): PostgreSQL says so either way,
            # or as a unique violation of its catalog when both got past its own check.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


def _sql_files(folder: Traversable) -> list[Traversable]:
    return sorted((f for f in folder.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)


async def migrate(conn: asyncpg.Connection, *folders: Traversable) -> list[str]:
    """Apply the ``NNN_name.sql`` files of each folder once, in name order, under an advisory lock."""
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('cluetrail-migrations'))")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
        for folder in folders:
            for sql_file in _sql_files(folder):
                key = f"{folder.name}/{sql_file.name}"
                if key in done:
                    continue
                await conn.execute(sql_file.read_text(encoding="utf-8"))
                await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", key)
                applied_now.append(key)
    for key in applied_now:
        log.info("applied migration %s", key)
    return applied_now


async def keep_session(conn: asyncpg.Connection) -> None:
    """A pool's reset of a released connection in place of asyncpg's reset query (``RESET ALL``, ``UNLISTEN``,
    ``pg_advisory_unlock_all``: a round trip on every release), for a service whose sessions set nothing,
    listen to nothing, and release every session lock they take themselves. asyncpg still rolls back an open
    transaction first, and still closes a connection it finds lost."""


async def open_pool(
    dsn: str,
    *migration_folders: Traversable,
    min_size: int = 1,
    max_size: int = 10,
    reset: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    connect_timeout: float = 60.0,
) -> asyncpg.Pool:
    """Create the database if needed, apply migrations, and return a connection pool.

    ``reset`` replaces asyncpg's reset query on release (a round trip per acquire) for a service that
    knows what session state its connections keep; an open transaction is rolled back either way.
    ``connect_timeout`` bounds each new connection of the pool (a server that does not answer at all).
    """
    await ensure_database(dsn)
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, reset=reset, timeout=connect_timeout
    )
    async with pool.acquire() as conn:
        await migrate(conn, INFRA_MIGRATIONS, *migration_folders)
    return pool


T = TypeVar("T")
R = TypeVar("R")


class Gathered(Generic[T, R]):
    """One statement for the calls of many concurrent requests: a call queues its item and waits, and one
    task at a time runs ``statement`` on every item queued meanwhile (at most ``most``), answering each
    call with its own result or with the statement's error. Under load a request then costs the database
    a share of one statement and one commit, and the service a share of one round trip, instead of one
    each; alone, it waits for nothing but its own statement."""

    def __init__(self, statement: Callable[[list[T]], Awaitable[list[R]]], most: int = 200) -> None:
        self._statement = statement
        self._most = most
        self._queued: list[tuple[T, asyncio.Future[R]]] = []
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queued.append((item, future))
        if self._running is None:
            self._running = asyncio.create_task(self._run())
        return await future

    async def _run(self) -> None:
        try:
            while self._queued:
                batch, self._queued = self._queued[: self._most], self._queued[self._most :]
                try:
                    results = await self._statement([item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                except BaseException:  # cancelled (shutdown): the callers are told so
                    for _, future in batch:
                        future.cancel()
                    raise
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._running = None
