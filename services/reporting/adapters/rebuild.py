"""Rebuilding a projection from offset zero: beside the live one, then switched to atomically.

A projection is folded from two logs: the case log and notify's notices topic (each case's notices,
chain-checked per stream). The new version is filled from both in large transactions while the live
version keeps serving; then it catches up with them until little is left, and finally, holding the lock
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

import asyncio
import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from aiokafka import ConsumerRecord
from rich.progress import Progress

from cluetrail.consume import Incoming, Rejected, decode_record
from cluetrail.db import open_pool
from cluetrail.kafka import notice_topic, read_log, report_submission_topic
from contracts.reports import read_submission
from services.reporting.adapters import SQL
from services.reporting.adapters.notices import NOTICES_CONSUMER, apply_notices
from services.reporting.adapters.projector import CASE_CONSUMER, apply_events, count_cases, store_positions
from services.reporting.adapters.reads import log_began
from services.reporting.adapters.retention import make_room_for
from services.reporting.adapters.submissions import store_submission
from services.reporting.adapters.versions import (
    active_version,
    asof_schema,
    build_lock_name,
    create_projection,
    drop_versions_except,
    existing_versions,
    name_rebuild_session,
    outdated_active_schema,
    record_build,
    record_failure,
    release_build_lock,
    switch_active,
    take_build_lock,
    take_projection_lock,
    use_schema,
    version_schema,
)
from services.reporting.domain.as_of import check_as_of
from services.reporting.settings import ReportingSettings

log = logging.getLogger(__name__)


@dataclass
class RebuildSummary:
    """What a rebuild read, applied and built."""

    schema: str
    version: int | None
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    after_as_of: int = 0
    cases: int = 0
    seconds: float = 0.0
    dropped: list[str] = field(default_factory=list)
    submissions: int = 0
    notices: int = 0

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


class _CollectorPacing:
    """Fewer full passes of Python's cyclic garbage collector while builds run in this process.

    A batch of a build keeps every record it decoded alive until the batch is written (some fifty objects
    the collector tracks per record: the document, the validated event, its rows), so with the default
    thresholds a full pass, which walks all of them, came due again within every batch: 40 full passes per
    100,000 events, a fifth of the rebuild's time, each finding nothing (the records go by reference
    counting once their batch is done). While a build runs, a full pass waits for 100 passes of the middle
    generation instead of 10 (4 per 100,000 events); the young generations are collected as usual.
    Overlapping builds (an as-of build requested while the start-up replacement runs) restore the
    thresholds when the last one ends."""

    FULL_PASS_AFTER = 100

    def __init__(self) -> None:
        self._builds = 0
        self._saved = gc.get_threshold()

    @contextmanager
    def during_build(self) -> Iterator[None]:
        if self._builds == 0:
            self._saved = gc.get_threshold()
            young, middle, _ = self._saved
            gc.set_threshold(young, middle, self.FULL_PASS_AFTER)
        self._builds += 1
        try:
            yield
        finally:
            self._builds -= 1
            if self._builds == 0:
                gc.set_threshold(*self._saved)


_collector = _CollectorPacing()


# Records decoded between two chances for the batch being written to go on (a few milliseconds).
_YIELD_EVERY = 200


@dataclass
class _Batch:
    """Records read from the log, their case events decoded and the notices among them."""

    records: list[ConsumerRecord[bytes, bytes]]
    events: list[Incoming] = field(default_factory=list)
    notices: list[ConsumerRecord[bytes, bytes]] = field(default_factory=list)


class ProjectionBuilder:
    """Replays the case log and notify's notices topic into one projection schema, remembering how far it
    got per topic and partition. Each batch is decoded while the one before it is written, one transaction
    at a time, in log order."""

    def __init__(
        self,
        conn: asyncpg.Connection,
        settings: ReportingSettings,
        summary: RebuildSummary,
        as_of: datetime | None = None,
    ) -> None:
        self._conn = conn
        self._settings = settings
        self._as_of = as_of
        self._notice_topic = notice_topic(settings)
        self.summary = summary
        self.positions: dict[str, dict[int, int]] = {}  # topic -> partition -> last offset applied

    async def replay(self, progress: Progress | None = None, description: str = "replaying") -> int:
        """Apply every record of the case log, then of the notices topic, from where this builder stands
        to each one's current end; return how many were read."""
        read = await self._replay(self._settings.case_topic, progress, description)
        return read + await self._replay(self._notice_topic, progress, f"{description} (notices)")

    async def _replay(self, topic: str, progress: Progress | None, description: str) -> int:
        start = {partition: offset + 1 for partition, offset in self.positions.get(topic, {}).items()}
        read = 0
        task = None
        writing: asyncio.Task[int] | None = None
        try:
            async for records, end in read_log(
                self._settings, topic, batch=self._settings.rebuild_batch, start=start
            ):
                if progress is not None and task is None:
                    total = sum(max(0, o - start.get(tp.partition, 0)) for tp, o in end.offsets.items())
                    task = progress.add_task(description, total=total)
                # Decoded while the batch before is being written: PostgreSQL works on that batch's rows
                # (on the other core) while this one's events are read and hashed.
                batch = await self._read(records, yielding=writing is not None)
                if writing is not None:
                    written = await writing
                    if progress is not None and task is not None:
                        progress.advance(task, written)
                writing = asyncio.create_task(self._write(batch))
                read += len(records)
            if writing is not None:
                written = await writing
                if progress is not None and task is not None:
                    progress.advance(task, written)
        finally:
            if writing is not None and not writing.done():
                # Reading failed: the batch being written finishes (or fails) before the connection is
                # used again, and the error that stopped the replay goes on.
                await asyncio.wait([writing])
        return read

    async def apply(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply one batch of records read from the log — case events, or notices when they come from the
        notices topic — leaving out those recorded after the as-of instant, with their positions, in one
        transaction."""
        await self._write(await self._read(records, yielding=False))

    async def _read(self, records: list[ConsumerRecord[bytes, bytes]], *, yielding: bool) -> _Batch:
        """Decode a batch (every event's own hash checked), leaving out those recorded after the as-of
        instant. ``yielding``: let a batch being written go on every few hundred records."""
        batch = _Batch(records)
        for index, record in enumerate(records):
            if yielding and index % _YIELD_EVERY == _YIELD_EVERY - 1:
                await asyncio.sleep(0)
            if record.topic == self._notice_topic:
                batch.notices.append(record)
                continue
            try:
                incoming = decode_record(record)
            except Rejected:
                # The live consumer dead-lettered it already; a rebuild only steps over it.
                self.summary.rejected += 1
                continue
            if self._as_of is not None and incoming.event.recorded_at > self._as_of:
                self.summary.after_as_of += 1
                continue
            batch.events.append(incoming)
        return batch

    async def _write(self, batch: _Batch) -> int:
        """Apply a decoded batch with its positions in one transaction; return how many records it held."""
        records = batch.records
        newest: dict[str, dict[int, int]] = {}
        for record in records:
            reached = newest.setdefault(record.topic, {})
            reached[record.partition] = max(reached.get(record.partition, -1), record.offset)
        async with self._conn.transaction():
            await use_schema(self._conn, self.summary.schema)
            result = await apply_events(self._conn, batch.events, bulk=True)
            noticed = await apply_notices(self._conn, batch.notices, self._as_of)
            for topic, offsets in newest.items():
                consumer = NOTICES_CONSUMER if topic == self._notice_topic else CASE_CONSUMER
                await store_positions(self._conn, consumer, topic, offsets)
        for topic, offsets in newest.items():
            self.positions.setdefault(topic, {}).update(offsets)
        self.summary.records += len(records)
        self.summary.applied += result.applied
        self.summary.duplicates += result.duplicates + noticed.repeats
        # Refused records were dead-lettered by the live consumers already; a rebuild only steps over them.
        self.summary.rejected += len(result.rejected) + len(noticed.rejected)
        self.summary.notices += noticed.applied
        self.summary.after_as_of += noticed.after_as_of
        return len(records)

    async def count_cases(self) -> int:
        async with self._conn.transaction():
            await use_schema(self._conn, self.summary.schema)
            return await count_cases(self._conn)


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
    with _collector.during_build():
        return await _build_projection(conn, settings, progress, as_of, requested_by)


async def _build_projection(
    conn: asyncpg.Connection,
    settings: ReportingSettings,
    progress: Progress,
    as_of: datetime | None,
    requested_by: str | None,
) -> RebuildSummary:
    began = time.monotonic()
    version = None if as_of is not None else await next_version(conn)
    schema = asof_schema(as_of) if as_of is not None else version_schema(version or 1)
    summary = RebuildSummary(schema=schema, version=version)
    await create_projection(conn, schema, version=version, as_of=as_of, requested_by=requested_by)
    try:
        builder = ProjectionBuilder(conn, settings, summary, as_of)
        await builder.replay(progress, f"{schema}: replaying the log")
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
