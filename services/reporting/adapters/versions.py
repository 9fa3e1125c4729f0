"""Projection versions: schemas ``ledger_vN`` (and ``ledger_asof_<stamp>``), the pointer to the live one,
and the advisory lock under which the live consumer applies a batch and rebuild switches versions."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

import asyncpg

from cluetrail.consume import RetryLater
from cluetrail.errors import InvalidInput, NotFound
from services.reporting.adapters.sqlfiles import template

# Held (transaction-scoped) by every live consumer batch and by the rebuild's final catch-up and switch.
PROJECTION_LOCK = "SELECT pg_advisory_xact_lock(hashtext('cluetrail-reporting-projection'))"
_SCHEMA = re.compile(r"^ledger_(v[1-9][0-9]*|asof_[0-9a-z]+)$")
_VERSION = re.compile(r"^ledger_v([1-9][0-9]*)$")


class ProjectionOutdated(RetryLater):
    """The live version was built from an older projection template; a rebuild must replace it first."""


def template_fingerprint() -> str:
    """The SHA-256 of the projection template this code writes to."""
    return hashlib.sha256(template("projection").encode()).hexdigest()


async def outdated_active_schema(conn: asyncpg.Connection) -> str | None:
    """The live schema if it was built from another template than this code's, else None."""
    version = await active_version(conn)
    if version is None:
        return None
    built_from = await conn.fetchval(
        "SELECT template_sha256 FROM reporting_meta.projection_versions WHERE schema_name = $1",
        version_schema(version),
    )
    return None if built_from == template_fingerprint() else version_schema(version)


def version_schema(version: int) -> str:
    return f"ledger_v{version}"


def asof_schema(instant: datetime) -> str:
    """The schema name of a projection as of ``instant`` (UTC, to the microsecond when needed)."""
    if instant.tzinfo is None:
        raise ValueError("an as-of instant must carry a time zone")
    utc = instant.astimezone(UTC)
    stamp = utc.strftime("%Y%m%dt%H%M%S")
    if utc.microsecond:
        stamp += f"{utc.microsecond:06d}"
    return f"ledger_asof_{stamp}z"


def quoted(schema: str) -> str:
    """A projection schema name as a SQL identifier; anything else is refused."""
    if not _SCHEMA.match(schema):
        raise ValueError(f"{schema!r} is not a projection schema name")
    return f'"{schema}"'


async def use_schema(conn: asyncpg.Connection, schema: str) -> None:
    """Point the current transaction's unqualified table names at ``schema``."""
    await conn.execute(f"SET LOCAL search_path TO {quoted(schema)}")


async def active_version(conn: asyncpg.Connection) -> int | None:
    version: int | None = await conn.fetchval("SELECT version FROM reporting_meta.active_projection")
    return version


async def create_projection(
    conn: asyncpg.Connection, schema: str, *, version: int | None = None, as_of: datetime | None = None
) -> None:
    """Create an empty projection schema from the template (dropping a leftover of the same name)."""
    async with conn.transaction():
        await conn.execute(f"DROP SCHEMA IF EXISTS {quoted(schema)} CASCADE")
        await conn.execute(f"CREATE SCHEMA {quoted(schema)}")
        await use_schema(conn, schema)
        await conn.execute(template("projection"))
        await conn.execute(
            "INSERT INTO reporting_meta.projection_versions (schema_name, version, as_of, template_sha256) "
            "VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (schema_name) DO UPDATE SET version = $2, as_of = $3, built_at = now(), "
            "events = NULL, cases = NULL, template_sha256 = $4",
            schema,
            version,
            as_of,
            template_fingerprint(),
        )


async def use_active_projection(conn: asyncpg.Connection) -> str:
    """The live consumer's ``prepare``: take the projection lock, then aim at the active version.

    The version is read after the lock is held, so a batch never straddles a rebuild's switch: its
    positions and effects go to one schema. The first call on an empty database creates version 1.
    """
    await conn.execute(PROJECTION_LOCK)
    version = await active_version(conn)
    if version is None:
        version = 1
        await create_projection(conn, version_schema(version), version=version)
        await conn.execute("INSERT INTO reporting_meta.active_projection (version) VALUES (1)")
    schema = version_schema(version)
    if await outdated_active_schema(conn) is not None:
        raise ProjectionOutdated(f"{schema} was built from an older projection template; rebuilding it")
    await use_schema(conn, schema)
    return schema


async def ensure_active_projection(conn: asyncpg.Connection) -> str | None:
    """Make sure a live version exists (at start-up); return the live schema if it is outdated."""
    async with conn.transaction():
        try:
            await use_active_projection(conn)
        except ProjectionOutdated:
            return await outdated_active_schema(conn)
    return None


async def switch_active(conn: asyncpg.Connection, version: int) -> None:
    """Make ``version`` live; call inside the transaction that holds the projection lock."""
    await conn.execute(
        "INSERT INTO reporting_meta.active_projection (version) VALUES ($1) "
        "ON CONFLICT (singleton) DO UPDATE SET version = $1, switched_at = now()",
        version,
    )


async def existing_versions(conn: asyncpg.Connection) -> list[int]:
    names = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ledger_v%'")
    return sorted(int(m.group(1)) for r in names if (m := _VERSION.match(r["nspname"])))


async def drop_versions_except(conn: asyncpg.Connection, keep: set[int]) -> list[str]:
    """Drop every numbered version not in ``keep`` (the live one and the one it replaced, or a leftover of
    an interrupted rebuild); as-of projections are kept."""
    dropped = []
    for old in await existing_versions(conn):
        if old not in keep:
            schema = version_schema(old)
            await conn.execute(f"DROP SCHEMA {quoted(schema)} CASCADE")
            await conn.execute(
                "DELETE FROM reporting_meta.projection_versions WHERE schema_name = $1", schema
            )
            dropped.append(schema)
    return dropped


async def record_build(conn: asyncpg.Connection, schema: str, events: int, cases: int) -> None:
    await conn.execute(
        "UPDATE reporting_meta.projection_versions SET events = $2, cases = $3, built_at = now() "
        "WHERE schema_name = $1",
        schema,
        events,
        cases,
    )


async def readable_schema(conn: asyncpg.Connection, as_of: str | None) -> str:
    """The schema a read uses: the active version, or a built as-of projection named or dated by ``as_of``."""
    if as_of is None:
        version = await active_version(conn)
        if version is None:
            raise NotFound("no projection is live yet", rule="reporting.projection")
        return version_schema(version)
    if _SCHEMA.match(as_of):
        found = await conn.fetchval(
            "SELECT schema_name FROM reporting_meta.projection_versions WHERE schema_name = $1", as_of
        )
    else:
        try:
            instant = datetime.fromisoformat(as_of)
            name = asof_schema(instant)
        except ValueError:
            raise InvalidInput(
                f"as_of {as_of!r} is neither a projection name nor a time-zone-aware ISO 8601 instant",
                rule="reporting.as_of",
            ) from None
        found = await conn.fetchval(
            "SELECT schema_name FROM reporting_meta.projection_versions WHERE schema_name = $1", name
        )
    if found is None:
        raise NotFound(
            f"no projection as of {as_of}; build it with: cluetrail rebuild --as-of TIMESTAMP",
            rule="reporting.as_of",
        )
    return str(found)
