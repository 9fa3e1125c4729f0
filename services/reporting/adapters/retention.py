"""How many as-of projections are kept, and for how long.

Each as-of projection is a whole copy of the projection (ledger, history, month rows, notices) in a schema of
its own, so they are not kept forever: at most ``CLUETRAIL_AS_OF_KEEP`` of them (``make_room`` drops the
oldest finished ones when a build of one more starts), and none built longer ago than
``CLUETRAIL_AS_OF_MAX_AGE_DAYS`` (``drop_expired``: hourly in the service, ``expire_as_of_projections``,
when a build starts, and by ``cluetrail as-of prune``). Live versions (``ledger_vN``) are never touched here.

A projection whose build is running (its build lock held by another session) is never dropped: dropping
takes the same lock first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from cluetrail.errors import RuleViolation
from services.reporting.adapters import SQL
from services.reporting.adapters.versions import (
    build_lock_name,
    drop_projection,
    try_build_lock_for_transaction,
)

Q = SQL.queries("retention")
log = logging.getLogger(__name__)
EXPIRY_EVERY = 3600.0  # seconds between two passes dropping expired as-of projections


class AsOfQuotaFull(RuleViolation):
    """As many as-of projections as the quota allows are kept, and each is being built: none can go."""

    status_code = 429


@dataclass(frozen=True)
class AsOfProjection:
    """An as-of projection as ``reporting_meta.projection_versions`` records it."""

    schema: str
    as_of: datetime
    state: str
    built_at: datetime
    requested_by: str | None


async def as_of_projections(conn: asyncpg.Connection) -> list[AsOfProjection]:
    """Every as-of projection recorded, the first to go first: unfinished ones (failed, or interrupted)
    before ready ones, then the oldest built."""
    rows = await conn.fetch(Q["as_of_projections"])
    return [
        AsOfProjection(r["schema_name"], r["as_of"], r["state"], r["built_at"], r["requested_by"])
        for r in rows
    ]


async def drop_as_of(conn: asyncpg.Connection, schema: str) -> bool:
    """Drop one as-of projection (its schema and its record); False, and nothing dropped, while another
    session builds it."""
    async with conn.transaction():
        # For the transaction only: a pooled session keeps no lock past it, whatever happens meanwhile.
        if not await try_build_lock_for_transaction(conn, build_lock_name(schema)):
            return False
        await drop_projection(conn, schema)
    return True


async def drop_expired(
    conn: asyncpg.Connection, built_before: datetime, *, keep: str | None = None
) -> list[str]:
    """Drop every as-of projection built before ``built_before`` (but ``keep``, and any being built);
    return the schemas dropped."""
    dropped = []
    for projection in await as_of_projections(conn):
        expired = projection.schema != keep and projection.built_at < built_before
        if expired and await drop_as_of(conn, projection.schema):
            dropped.append(projection.schema)
    return dropped


async def make_room(conn: asyncpg.Connection, quota: int, for_schema: str) -> list[str]:
    """Before ``for_schema`` is built: drop the first to go of the other as-of projections until, with it, at
    most ``quota`` are kept; return the schemas dropped. ``AsOfQuotaFull`` when the others left over the
    quota are all being built (the request can be made again once one has finished)."""
    others = [p for p in await as_of_projections(conn) if p.schema != for_schema]
    excess = len(others) + 1 - quota
    dropped: list[str] = []
    for projection in others:
        if excess <= 0:
            break
        if await drop_as_of(conn, projection.schema):
            dropped.append(projection.schema)
            excess -= 1
    if excess > 0:
        raise AsOfQuotaFull(
            f"{len(others) - len(dropped)} as-of projections are kept, the most the quota allows "
            f"(CLUETRAIL_AS_OF_KEEP={quota}), and those over it are being built: request {for_schema} again "
            "once one of them has finished",
            rule="reporting.as-of-quota",
        )
    return dropped


async def make_room_for(conn: asyncpg.Connection, schema: str, quota: int, max_age: timedelta) -> list[str]:
    """Before ``schema`` is built (its build lock held on ``conn``): drop the as-of projections built more
    than ``max_age`` ago, then the first to go of the others until the quota holds with it; return the
    schemas dropped. ``AsOfQuotaFull`` when it cannot."""
    expired = await drop_expired(conn, datetime.now(UTC) - max_age, keep=schema)
    return expired + await make_room(conn, quota, schema)


async def expire_as_of_projections(pool: asyncpg.Pool, max_age_days: int, stopping: asyncio.Event) -> None:
    """Drop the as-of projections past the maximum age now and every hour, until ``stopping`` is set."""
    while not stopping.is_set():
        try:
            async with pool.acquire() as conn:
                dropped = await drop_expired(conn, datetime.now(UTC) - timedelta(days=max_age_days))
            if dropped:
                log.info("dropped as-of projections older than %s days: %s", max_age_days, ", ".join(dropped))
        except Exception:
            log.exception("could not drop expired as-of projections; trying again in an hour")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=EXPIRY_EVERY)
