"""Projection versions: schemas ``ledger_vN`` (and ``ledger_asof_<stamp>``), the pointer to the live one,
the advisory lock under which the live consumer applies a batch and rebuild switches versions, and the
build locks that let one build at a time fill a projection."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from functools import cache
from typing import Any

import asyncpg

from cluetrail.consume import RetryLater
from cluetrail.errors import InvalidInput, NotFound, RuleViolation
from services.reporting.adapters import SQL

Q = SQL.queries("versions")
# A live version's schema is this followed by its number.
VERSION_SCHEMA_PREFIX = "ledger_v"
_SCHEMA = re.compile(r"^ledger_(v[1-9][0-9]*|asof_[0-9a-z]+)$")
_VERSION = re.compile(rf"^{VERSION_SCHEMA_PREFIX}([1-9][0-9]*)$")


class ProjectionOutdated(RetryLater):
    """The live version was built from an older projection template; a rebuild must replace it first."""


class BuildRunning(RuleViolation):
    """One build at a time fills a projection: a rebuild of the live version (it picks the next version
    number and drops old ones) or an as-of build of one instant (it drops and refills its schema)."""


class ProjectionBuilding(RuleViolation):
    """An as-of projection is read only once its build has finished."""


# Session-level advisory locks held for a whole build (pg_advisory_lock on hashtext of the name).
LIVE_BUILD = "cluetrail-reporting-build:live"


def build_lock_name(schema: str | None) -> str:
    """The lock a build of ``schema`` holds (None: a rebuild of the live version)."""
    if schema is None:
        return LIVE_BUILD
    quoted(schema)  # refuses anything that is not a projection schema name
    return f"cluetrail-reporting-build:{schema}"


async def take_build_lock(conn: asyncpg.Connection, name: str, *, wait: bool = False) -> None:
    """Hold ``name`` on this session until ``release_build_lock``; refused with ``BuildRunning`` naming the
    holder when another session holds it (``wait``: queue behind it instead)."""
    if wait:
        await conn.execute(Q["wait_build_lock"], name)
        return
    if await try_build_lock(conn, name):
        return
    what = "a rebuild of the live projection" if name == LIVE_BUILD else f"a build of {name.split(':', 1)[1]}"
    raise BuildRunning(
        f"{what} is running already ({await lock_holder(conn, name)}); wait for it to finish",
        rule="reporting.one-build-at-a-time",
    )


async def try_build_lock(conn: asyncpg.Connection, name: str) -> bool:
    """Take ``name`` on this session if no other session holds it; whether it was taken."""
    return bool(await conn.fetchval(Q["try_build_lock"], name))


async def try_build_lock_for_transaction(conn: asyncpg.Connection, name: str) -> bool:
    """``try_build_lock`` until the transaction ends (the build lock taken this way and a session's one
    exclude each other)."""
    return bool(await conn.fetchval(Q["try_build_lock_for_transaction"], name))


async def release_build_lock(conn: asyncpg.Connection, name: str) -> None:
    await conn.execute(Q["release_build_lock"], name)


async def take_projection_lock(conn: asyncpg.Connection) -> None:
    """Hold the projection lock until the transaction ends: every live consumer batch takes it, and a
    rebuild's final catch-up and switch, so a batch never straddles a switch."""
    await conn.execute(Q["projection_lock"])


async def name_rebuild_session(conn: asyncpg.Connection) -> None:
    """Name this session ``cluetrail rebuild``, as ``lock_holder`` shows it to a build it holds off."""
    await conn.execute(Q["name_rebuild_session"])


async def build_lock_held(conn: asyncpg.Connection, name: str) -> bool:
    """Whether some session holds the build lock ``name`` now."""
    return await conn.fetchrow(Q["lock_holder"], name) is not None


async def lock_holder(conn: asyncpg.Connection, name: str) -> str:
    """Who holds the advisory lock ``name``: the PostgreSQL session, its application and since when."""
    row = await conn.fetchrow(Q["lock_holder"], name)
    if row is None:
        return "its session is gone"
    application = f", {row['application_name']}" if row["application_name"] else ""
    since = f", connected {row['backend_start']:%Y-%m-%d %H:%M:%S %Z}" if row["backend_start"] else ""
    return f"PostgreSQL session {row['pid']}{application}{since}"


@cache
def template_fingerprint() -> str:
    """The SHA-256 of the projection templates this code writes to (the tables, then their indexes)."""
    templates = SQL.template("projection") + SQL.template("projection_indexes")
    return hashlib.sha256(templates.encode()).hexdigest()


async def aim_at_live_version(conn: asyncpg.Connection) -> asyncpg.Record | None:
    """The live version (``version``; None while there is none) and whether this code's template built it
    (``current``), in one round trip that also aims the transaction's unqualified names at its schema (a
    session outside a transaction: that statement's names only)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        Q["aim_at_active"], VERSION_SCHEMA_PREFIX, template_fingerprint()
    )
    return row


async def outdated_active_schema(conn: asyncpg.Connection) -> str | None:
    """The live schema if it was built from another template than this code's, else None."""
    live = await aim_at_live_version(conn)
    return None if live is None or live["current"] else version_schema(live["version"])


def version_schema(version: int) -> str:
    return f"{VERSION_SCHEMA_PREFIX}{version}"


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


def on_schema(statement: str, schema: str) -> str:
    """The named statement (queries/versions.sql) with ``schema`` written in as its {schema}: PostgreSQL
    takes no parameter for a name, so the name is checked and quoted by ``quoted``."""
    return Q[statement].format(schema=quoted(schema))


async def use_schema(conn: asyncpg.Connection, schema: str) -> None:
    """Point the current transaction's unqualified table names at ``schema``."""
    await conn.execute(on_schema("use_schema", schema))


async def active_version(conn: asyncpg.Connection) -> int | None:
    version: int | None = await conn.fetchval(Q["active_version"])
    return version


async def create_projection(
    conn: asyncpg.Connection,
    schema: str,
    *,
    version: int | None = None,
    as_of: datetime | None = None,
    requested_by: str | None = None,
    indexed: bool = True,
) -> None:
    """Create an empty projection schema from the template (dropping a leftover of the same name); it is
    ``building`` until ``record_build``. Call while holding the schema's build lock. ``indexed=False``
    leaves out the secondary indexes, for a build to add them once its first pass has loaded the tables
    (``index_projection``)."""
    async with conn.transaction():
        await conn.execute(on_schema("drop_schema_if_exists", schema))
        await conn.execute(on_schema("create_schema", schema))
        await use_schema(conn, schema)
        await conn.execute(SQL.template("projection"))
        if indexed:
            await conn.execute(SQL.template("projection_indexes"))
        await conn.execute(
            Q["record_building"],
            schema,
            version,
            as_of,
            template_fingerprint(),
            requested_by,
        )


async def index_projection(conn: asyncpg.Connection, schema: str) -> None:
    """Add the secondary indexes to a projection created without them (``create_projection``)."""
    async with conn.transaction():
        await use_schema(conn, schema)
        await conn.execute(SQL.template("projection_indexes"))


async def use_active_projection(conn: asyncpg.Connection) -> str:
    """The live consumer's ``prepare``: take the projection lock, then aim at the active version.

    The version is read after the lock is held, so a batch never straddles a rebuild's switch: its
    positions and effects go to one schema. The first call on an empty database creates version 1.
    """
    await take_projection_lock(conn)
    # One round trip for every batch once a version is live.
    live = await aim_at_live_version(conn)
    if live is None:
        schema = version_schema(1)
        await create_projection(conn, schema, version=1)
        # The first version is live from the start, filled by the consumer: nothing to wait for.
        await conn.execute(Q["mark_ready"], schema)
        await conn.execute(Q["activate_first"])
        await use_schema(conn, schema)
        return schema
    schema = version_schema(live["version"])
    if not live["current"]:
        raise ProjectionOutdated(f"{schema} was built from an older projection template; rebuilding it")
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
    await conn.execute(Q["switch_active"], version)


async def existing_versions(conn: asyncpg.Connection) -> list[int]:
    names = await conn.fetch(Q["version_schemas"])
    return sorted(int(m.group(1)) for r in names if (m := _VERSION.match(r["nspname"])))


async def drop_versions_except(conn: asyncpg.Connection, keep: set[int]) -> list[str]:
    """Drop every numbered version not in ``keep`` (the live one and the one it replaced, or a leftover of
    an interrupted rebuild); as-of projections are kept."""
    dropped = []
    for old in await existing_versions(conn):
        if old not in keep:
            schema = version_schema(old)
            await conn.execute(on_schema("drop_schema", schema))
            await conn.execute(Q["forget"], schema)
            dropped.append(schema)
    return dropped


async def drop_projection(conn: asyncpg.Connection, schema: str) -> None:
    """Forget ``schema``'s record and drop it; call in a transaction, holding its build lock."""
    await conn.execute(Q["forget"], schema)
    await conn.execute(on_schema("drop_schema_if_exists", schema))


async def record_build(conn: asyncpg.Connection, schema: str, events: int, cases: int) -> None:
    """The build of ``schema`` finished: it may be read."""
    await conn.execute(Q["record_build"], schema, events, cases)


async def record_failure(conn: asyncpg.Connection, schema: str, error: str) -> None:
    """The build of ``schema`` stopped with ``error``: it is not read, and may be built again."""
    await conn.execute(Q["record_failure"], schema, error[:2000])


async def projection_named(conn: asyncpg.Connection, as_of: str) -> tuple[str, dict[str, Any] | None]:
    """The schema ``as_of`` names (a projection schema name, or a time-zone-aware ISO 8601 instant) and
    its row of ``reporting_meta.projection_versions`` (None: never built)."""
    if _SCHEMA.match(as_of):
        name = as_of
    else:
        try:
            instant = datetime.fromisoformat(as_of)
            name = asof_schema(instant)
        except ValueError:
            raise InvalidInput(
                f"as_of {as_of!r} is neither a projection name nor a time-zone-aware ISO 8601 instant",
                rule="reporting.as_of",
            ) from None
    row = await conn.fetchrow(Q["projection"], name)
    return name, dict(row) if row is not None else None


async def readable_schema(conn: asyncpg.Connection, as_of: str | None) -> str:
    """The schema a read uses: the active version, or a finished as-of projection named or dated by
    ``as_of``."""
    if as_of is None:
        version = await active_version(conn)
        if version is None:
            raise NotFound("no projection is live yet", rule="reporting.projection")
        return version_schema(version)
    name, found = await projection_named(conn, as_of)
    status = f"/v1/projections/as-of/{name}"
    if found is None:
        raise NotFound(
            f"no projection as of {as_of}; build it with POST /v1/projections/as-of "
            "or: cluetrail rebuild --as-of TIMESTAMP",
            rule="reporting.as_of",
        )
    if found["state"] == "building":
        raise ProjectionBuilding(
            f"{name} is being built; it can be read once GET {status} says ready", rule="reporting.as_of"
        )
    if found["state"] == "failed":
        raise NotFound(
            f"the build of {name} failed ({found['error']}); build it again with POST /v1/projections/as-of",
            rule="reporting.as_of",
        )
    return name
