"""Rebuilding a projection from offset zero: beside the live one, then switched to atomically.

A projection is folded from two logs: the case log and notify's notices topic (each case's notices,
chain-checked per stream). The new version is filled from both in large transactions while the live
version keeps serving (the first pass over the case log by processes side by side, each a share of its
partitions: ``shares``); then it catches up with them until little is left, and finally, holding the lock
every live consumer batch takes, it applies the last records and switches
``reporting_meta.active_projection``. Its consumer positions (one per topic) are written with its effects,
so both live consumers continue on the new version exactly where it stands.
An as-of build stops at an instant (events and notices recorded by then) and is never made live.

One build at a time: a rebuild of the live version holds a session advisory lock from choosing its
version number to dropping the old ones, and an as-of build holds one for its schema, so two builds never
pick the same schema and drop each other's half-built tables. A second build is refused
(``BuildRunning``, naming the session that holds the lock); the start-up replacement of an outdated
version queues behind a running rebuild instead, then does nothing if that rebuild replaced it.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import asyncpg
from rich.progress import Progress

from cluetrail.db import open_pool
from cluetrail.kafka import read_log, report_submission_topic
from contracts.reports import read_submission
from services.reporting.adapters import SQL
from services.reporting.adapters.builder import ProjectionBuilder, RebuildSummary, collector
from services.reporting.adapters.reads import log_began
from services.reporting.adapters.retention import make_room_for
from services.reporting.adapters.shares import replay_in_shares, share_processes
from services.reporting.adapters.sharing import Shares
from services.reporting.adapters.submissions import store_submission
from services.reporting.adapters.versions import (
    active_version,
    asof_schema,
    build_lock_name,
    create_projection,
    drop_versions_except,
    existing_versions,
    index_projection,
    name_rebuild_session,
    outdated_active_schema,
    record_build,
    record_failure,
    release_build_lock,
    switch_active,
    take_build_lock,
    take_projection_lock,
    version_schema,
)
from services.reporting.domain.as_of import check_as_of
from services.reporting.settings import ReportingSettings

log = logging.getLogger(__name__)


async def replay_submissions(
    conn: asyncpg.Connection, settings: ReportingSettings, progress: Progress
) -> int:
    """Refill reporting_meta.submissions from the report-submissions topic (kept ones stay; returns how many
    records were read). The submissions store is rebuilt from the log like the projections."""
    read = 0
    task = None
    async for records, end in read_log(settings, report_submission_topic(settings)):
        if task is None:
            task = progress.add_task("report submissions", total=end.total)
        for record in records:
            try:
                sealed = read_submission(record.value or b"")
            except ValueError:
                continue
            await store_submission(conn, sealed, record.partition, record.offset)
        read += len(records)
        progress.advance(task, len(records))
    return read


async def next_version(conn: asyncpg.Connection) -> int:
    return max([*await existing_versions(conn), await active_version(conn) or 0]) + 1


async def rebuild(
    settings: ReportingSettings, progress: Progress, as_of: datetime | None = None
) -> RebuildSummary:
    """Build the next live version (or an as-of projection) from offset zero; see the module docstring.
    ``BuildRunning`` when another build of the same projection is running. An as-of build refuses an
    instant outside the case log (``InvalidInput``, ``domain.as_of``) and first makes room for itself under
    the quota and the maximum age (``AsOfQuotaFull`` when it cannot; the summary lists what it dropped)."""
    summary = await _locked_build(settings, progress, as_of, replace_outdated=False)
    if summary is None:
        raise RuntimeError("a rebuild that is not a replacement always builds")
    return summary


async def replace_outdated(settings: ReportingSettings, progress: Progress) -> RebuildSummary | None:
    """Replace a live version built by an older release (at start-up): queued behind a running rebuild,
    then nothing (None) when that rebuild replaced it already."""
    return await _locked_build(settings, progress, None, replace_outdated=True)


async def _locked_build(
    settings: ReportingSettings, progress: Progress, as_of: datetime | None, *, replace_outdated: bool
) -> RebuildSummary | None:
    pool = await open_pool(settings.database_for("reporting"), SQL.migrations, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            await name_rebuild_session(conn)
            if as_of is not None:
                check_as_of(as_of, now=datetime.now(UTC), log_began=await log_began(conn))
            schema = asof_schema(as_of) if as_of is not None else None
            lock = build_lock_name(schema)
            await take_build_lock(conn, lock, wait=replace_outdated)
            try:
                if replace_outdated and await outdated_active_schema(conn) is None:
                    return None
                dropped = []
                if schema is not None:
                    dropped = await make_room_for(conn, schema, settings.as_of_keep, settings.as_of_max_age)
                summary = await build_projection(conn, settings, progress, as_of)
                summary.dropped = dropped + summary.dropped
                return summary
            finally:
                await release_build_lock(conn, lock)
    finally:
        await pool.close()


async def build_projection(
    conn: asyncpg.Connection,
    settings: ReportingSettings,
    progress: Progress,
    as_of: datetime | None = None,
    requested_by: str | None = None,
) -> RebuildSummary:
    """Fill a new projection on ``conn``, whose session holds the build lock (``build_lock_name``). A
    failed as-of build is marked failed (not readable) before the error goes on."""
    with collector.during_build():
        async with share_processes(settings) as shares:
            return await _build_projection(conn, settings, progress, as_of, requested_by, shares)


async def _build_projection(
    conn: asyncpg.Connection,
    settings: ReportingSettings,
    progress: Progress,
    as_of: datetime | None,
    requested_by: str | None,
    shares: Shares,
) -> RebuildSummary:
    began = time.monotonic()
    version = None if as_of is not None else await next_version(conn)
    schema = asof_schema(as_of) if as_of is not None else version_schema(version or 1)
    summary = RebuildSummary(schema=schema, version=version)
    await create_projection(
        conn, schema, version=version, as_of=as_of, requested_by=requested_by, indexed=False
    )
    try:
        builder = ProjectionBuilder(conn, settings, summary, as_of)
        await replay_in_shares(
            builder, conn, settings, as_of, progress, f"{schema}: replaying the log", shares
        )
        await builder.replay(progress, f"{schema}: replaying the log")
        # The tables hold the log as it was at the start: each index is built in one sort now, and kept
        # row by row only for what the catch-up adds.
        await index_projection(conn, schema)
        if version is not None:
            while await builder.replay(progress, f"{schema}: catching up") >= settings.rebuild_final_lag:
                pass
            async with conn.transaction():
                # The live consumer is paused between batches from here until commit.
                await take_projection_lock(conn)
                replaced = await active_version(conn)
                await builder.replay(progress, f"{schema}: last records, then switch")
                await switch_active(conn, version)
            keep = {version} if replaced is None else {version, replaced}
            summary.dropped = await drop_versions_except(conn, keep)
            summary.submissions = await replay_submissions(conn, settings, progress)
        summary.cases = await builder.count_cases()
    except Exception as exc:
        try:
            await record_failure(conn, schema, f"{type(exc).__name__}: {exc}")
        except Exception:
            log.exception("could not mark %s failed", schema)
        raise
    summary.seconds = time.monotonic() - began
    await record_build(conn, schema, summary.applied, summary.cases)
    return summary
