"""Replaying the logs into one projection schema: ``ProjectionBuilder`` reads the case log and notify's
notices topic from where it stands, decodes each batch (every event's own hash checked) while the one
before is written, and writes a batch with its positions in one transaction (``rebuild`` says when and
where; ``shares`` runs several builders side by side on the first pass)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Container, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
from aiokafka import ConsumerRecord
from rich.progress import Progress

from cluetrail.consume import Incoming, Rejected, decode_record
from cluetrail.kafka import notice_topic, read_log
from services.reporting.adapters.notices import NOTICES_CONSUMER, apply_notices
from services.reporting.adapters.projector import CASE_CONSUMER, apply_events, count_cases, store_positions
from services.reporting.adapters.versions import use_schema
from services.reporting.settings import ReportingSettings


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
    # Processes that folded the first pass over the case log (``shares``): 1 when the build did it alone.
    shares: int = 1

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


collector = _CollectorPacing()


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
        *,
        partitions: Container[int] | None = None,
        written: Callable[[int], None] | None = None,
    ) -> None:
        """``partitions``: the only partitions of the case log this builder reads (a share of a build,
        ``shares``); ``written``: told how many records each batch written held."""
        self._conn = conn
        self._settings = settings
        self._as_of = as_of
        self._notice_topic = notice_topic(settings)
        self._partitions = partitions
        self._written = written
        self.summary = summary
        self.positions: dict[str, dict[int, int]] = {}  # topic -> partition -> last offset applied

    async def replay(self, progress: Progress | None = None, description: str = "replaying") -> int:
        """Apply every record of the case log, then of the notices topic, from where this builder stands
        to each one's current end; return how many were read."""
        read = await self.replay_case_log(progress, description)
        return read + await self._replay(self._notice_topic, progress, f"{description} (notices)")

    async def replay_case_log(self, progress: Progress | None = None, description: str = "replaying") -> int:
        """``replay`` of the case log alone (of this builder's partitions)."""
        return await self._replay(self._settings.case_topic, progress, description)

    async def _replay(self, topic: str, progress: Progress | None, description: str) -> int:
        start = {partition: offset + 1 for partition, offset in self.positions.get(topic, {}).items()}
        read = 0
        task = None
        writing: asyncio.Task[int] | None = None
        try:
            only = self._partitions if topic == self._settings.case_topic else None
            async for records, end in read_log(
                self._settings, topic, batch=self._settings.rebuild_batch, start=start, partitions=only
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
        if self._written is not None:
            self._written(len(records))
        return len(records)

    async def count_cases(self) -> int:
        async with self._conn.transaction():
            await use_schema(self._conn, self.summary.schema)
            return await count_cases(self._conn)
