"""As-of projections kept on a fresh reporting database: at most the quota (a build of one more drops the
first to go — a failed or interrupted one, then the oldest built), never one being built, none past the
maximum age; the live version is never touched. And the instant of a build must lie within the case log:
the live projection says when its first event was recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from cluetrail.errors import InvalidInput
from services.reporting.adapters.reads import log_began
from services.reporting.adapters.retention import (
    AsOfQuotaFull,
    as_of_projections,
    drop_expired,
    make_room,
    make_room_for,
)
from services.reporting.adapters.versions import (
    asof_schema,
    build_lock_name,
    create_projection,
    record_build,
    record_failure,
)
from services.reporting.domain.as_of import AS_OF_WITHIN_LOG, check_as_of
from tests.integration.golden_reporting import (
    drop_database,
    fresh_database,
    golden_cases,
    incoming,
    log_order,
    project,
)

pytestmark = pytest.mark.integration
NOW = datetime.now(UTC)


@pytest.fixture
async def dsn() -> AsyncIterator[str]:
    """A fresh reporting database (live version 1, empty)."""
    name = await fresh_database()
    try:
        yield name
    finally:
        await drop_database(name)


@pytest.fixture
async def conn(dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def built(conn: asyncpg.Connection, days_ago: float, *, failed: bool = False) -> str:
    """An as-of projection built ``days_ago`` days ago (for an instant a year before that)."""
    instant = NOW - timedelta(days=365 + days_ago)
    schema = asof_schema(instant)
    await create_projection(conn, schema, as_of=instant, requested_by="审计员")
    if failed:
        await record_failure(conn, schema, "RuntimeError: the log was unreachable")
    else:
        await record_build(conn, schema, 0, 0)
    await conn.execute(
        "UPDATE reporting_meta.projection_versions SET built_at = $2 WHERE schema_name = $1",
        schema,
        NOW - timedelta(days=days_ago),
    )
    return schema


async def schemas(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ledger_%'")
    return {r["nspname"] for r in rows}


async def test_a_build_over_the_quota_drops_the_first_to_go(conn: asyncpg.Connection) -> None:
    oldest, failed, newer, newest = (
        await built(conn, 20),
        await built(conn, 1, failed=True),
        await built(conn, 10),
        await built(conn, 2),
    )
    assert [p.schema for p in await as_of_projections(conn)] == [failed, oldest, newer, newest]
    coming = asof_schema(NOW - timedelta(hours=1))

    # Four kept, quota 3: with the one coming, two must go — the failed one, then the oldest built.
    assert await make_room(conn, 3, coming) == [failed, oldest]
    assert [p.schema for p in await as_of_projections(conn)] == [newer, newest]
    assert {failed, oldest}.isdisjoint(await schemas(conn))
    assert {newer, newest, "ledger_v1"} <= await schemas(conn)
    # Room enough: nothing goes.
    assert await make_room(conn, 3, coming) == []


async def test_a_projection_being_built_is_never_dropped(conn: asyncpg.Connection, dsn: str) -> None:
    first, second = await built(conn, 5), await built(conn, 3)
    other = await asyncpg.connect(dsn)
    try:
        # Another session builds `first` (holds its build lock): the next one to go is taken instead.
        await other.execute("SELECT pg_advisory_lock(hashtext($1))", build_lock_name(first))
        coming = asof_schema(NOW - timedelta(hours=2))
        assert await make_room(conn, 2, coming) == [second]
        assert [p.schema for p in await as_of_projections(conn)] == [first]
        # Quota 1, and the one left is being built: refused with 429, naming the rule.
        with pytest.raises(AsOfQuotaFull) as refused:
            await make_room(conn, 1, coming)
        assert refused.value.status_code == 429 and refused.value.rule == "reporting.as-of-quota"
        assert "CLUETRAIL_AS_OF_KEEP=1" in refused.value.reason
        assert await drop_expired(conn, NOW) == []  # expired, but being built
    finally:
        await other.close()
    assert await drop_expired(conn, NOW) == [first]


async def test_projections_past_the_maximum_age_go(conn: asyncpg.Connection) -> None:
    old, recent = await built(conn, 40), await built(conn, 3)
    assert await drop_expired(conn, NOW - timedelta(days=30)) == [old]
    assert [p.schema for p in await as_of_projections(conn)] == [recent]
    # A build starting drops the expired ones and keeps the quota at once.
    stale = await built(conn, 31)
    coming = asof_schema(NOW - timedelta(hours=3))
    assert await make_room_for(conn, coming, 1, timedelta(days=30)) == [stale, recent]
    assert await as_of_projections(conn) == []
    assert "ledger_v1" in await schemas(conn)


async def test_the_instant_must_lie_within_the_case_log(conn: asyncpg.Connection) -> None:
    # No event yet: no instant can be shown.
    assert await log_began(conn) is None
    with pytest.raises(InvalidInput) as empty:
        check_as_of(NOW - timedelta(days=1), now=NOW, log_began=await log_began(conn))
    assert empty.value.rule == AS_OF_WITHIN_LOG and "holds no event yet" in empty.value.reason

    events = log_order(golden_cases())
    await project(conn, incoming(events))
    first = min(e.recorded_at for e in events)
    assert await log_began(conn) == first
    with pytest.raises(InvalidInput) as early:
        check_as_of(first - timedelta(seconds=1), now=NOW, log_began=first)
    assert "before the case log began" in early.value.reason and first.isoformat() in early.value.reason
    assert AS_OF_WITHIN_LOG in early.value.reason
    check_as_of(first, now=NOW, log_began=first)  # the first event's own instant shows it
    with pytest.raises(InvalidInput) as future:
        check_as_of(NOW + timedelta(minutes=1), now=NOW, log_began=first)
    assert "has not passed yet" in future.value.reason and future.value.status_code == 422
