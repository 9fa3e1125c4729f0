"""The transactional outbox: a service's decisions reach Kafka exactly as they were committed.

A decision and the events it produces are stored in one transaction (with the consumer position or the
officer's request); the relay then publishes unpublished rows in commit order and marks them. A crash
between publish and mark republishes an identical event (same id, seq and hash), which consumers skip.
Only one relay per database runs at a time (an advisory lock), so per-case order is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from opentelemetry import trace

from cluetrail.kafka import make_producer, record_headers
from cluetrail.logs import Outage
from cluetrail.metrics import OUTBOX_PUBLISHED
from cluetrail.settings import CommonSettings
from cluetrail.telemetry import context_from_traceparent, trace_headers
from contracts.envelope import Envelope
from contracts.events import event_bytes, parse_document

log = logging.getLogger(__name__)
RELAY_LOCK = "cluetrail-outbox-relay"
PUBLISH_BATCH = 500  # rows a relay reads and publishes at a time


async def add_to_outbox(conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
    """Store events for publishing; call inside the transaction that decided them."""
    await conn.executemany(
        "INSERT INTO outbox (event_id, case_id, seq, event, traceparent) VALUES ($1, $2, $3, $4, $5)",
        [outbox_row(e, event_bytes(e)) for e in events],
    )


def outbox_row(event: Envelope, raw: bytes) -> tuple[object, ...]:
    """An outbox row of ``event`` written as ``raw`` (its ``event_bytes``), in the columns ``add_to_outbox``
    writes: for a statement that writes the outbox with the rest of a decision (in that order, one array
    per column, e.g. triage's batches)."""
    return (event.event_id, event.case_id, event.seq, raw, event.traceparent)


async def add_copies_to_outbox(
    conn: asyncpg.Connection, copies: Sequence[tuple[Envelope, bytes]], origin_region: str
) -> None:
    """Store byte-identical copies of another region's events (each with the bytes it was written with) for
    publishing to this region's log, marked with the region they come from."""
    await conn.executemany(
        "INSERT INTO outbox (event_id, case_id, seq, event, traceparent, origin_region) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
        [(e.event_id, e.case_id, e.seq, raw, e.traceparent, origin_region) for e, raw in copies],
    )


@dataclass(frozen=True)
class Outgoing:
    """One outbox row as the Kafka record it becomes."""

    topic: str
    key: bytes
    value: bytes
    headers: dict[str, str]
    correlation_id: str | None = None
    traceparent: str | None = None


@dataclass(frozen=True)
class OutboxRows:
    """What a relay publishes: the unpublished rows of ``table`` (``id`` in commit order, ``published_at``,
    and the ``columns`` that ``record`` reads), each as the record ``record`` makes of it. A row with an
    ``event_id`` column resolves the waiters of that event once published."""

    table: str
    columns: str
    record: Callable[[Mapping[str, Any]], Outgoing]


def case_event_rows(settings: CommonSettings, table: str = "outbox") -> OutboxRows:
    """Rows of case events (the shared ``outbox``, or a table of its shape) for this region's case topic."""

    def record(row: Mapping[str, Any]) -> Outgoing:
        raw: bytes = row["event"]
        # The headers name the event as written: its bytes were sealed by this service (or copied as another
        # region wrote them), so they are read, not validated again.
        document = parse_document(raw)
        return Outgoing(
            topic=settings.case_topic,
            key=str(row["case_id"]).encode(),
            value=raw,
            headers=record_headers(document, origin_region=row["origin_region"]),
            correlation_id=str(document["correlation_id"]),
            traceparent=row["traceparent"],
        )

    return OutboxRows(table, "event_id, case_id, event, traceparent, origin_region", record)


class OutboxRelay:
    """Publishes outbox rows to the case topic (given ``rows``, another table's rows to their topic);
    ``wake()`` after a commit to publish at once (``hand_over`` the rows committed, where the relay runs in
    each process).

    Requests that answer only once their events are on Kafka wait with ``wait_published``, holding no
    database connection meanwhile: this process's relay resolves them in memory as it stamps rows, and a
    look at the table once a second covers a relay in another process. A relay
    that cannot publish (Kafka down, a record refused) says so once, retries every second, and says once
    when it publishes again.

    A case's events must reach the log in their order, so one relay per table publishes at a time (an
    advisory lock), all rows in commit order, a batch at a time. Where every row is the first event of a
    case of its own (``each_process``: intake's clues), no order holds between rows: the relay of every
    process publishes the rows its requests hand over as they commit them (``hand_over``), without reading
    them back and without waiting for the batch before to be acknowledged; rows left unpublished (a
    request that answered ``pending`` while Kafka was away, a process that died) are published by whichever
    relay finds them first once they are ``left_behind_seconds`` old.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: CommonSettings,
        tracer: trace.Tracer,
        *,
        table: str = "outbox",
        poll_seconds: float = 1.0,
        rows: OutboxRows | None = None,
        each_process: bool = False,
        left_behind_seconds: float = 10.0,
    ) -> None:
        """``table`` holds the case events to publish: ``id`` (commit order), ``event_id``, ``case_id``,
        ``event`` (the bytes), ``traceparent``, ``origin_region`` and ``published_at`` — the shared
        ``outbox``, or a service's own table of the same shape (intake's accepted clues). ``rows`` names
        another table and the records its rows become instead (triage's anchors). ``each_process`` needs
        ``event_id`` and ``created_at`` (the commit's time); ``left_behind_seconds`` must exceed the
        longest a request waits, or a row could go out twice (a copy every reader skips)."""
        self._rows = rows or case_event_rows(settings, table)
        self._table = self._rows.table
        self._lock_name = RELAY_LOCK if self._table == "outbox" else f"{RELAY_LOCK}:{self._table}"
        self._pool = pool
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._tracer = tracer
        self._poll_seconds = poll_seconds
        self._each_process = each_process
        self._left_behind_seconds = left_behind_seconds
        self._wakeup = asyncio.Event()
        self._waiters: dict[uuid.UUID, list[asyncio.Future[None]]] = {}
        self._handed: list[Mapping[str, Any]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        # Events of handed rows out to Kafka: never taken as left behind meanwhile.
        self._publishing: set[uuid.UUID] = set()
        self._producer_started = asyncio.Lock()
        self._outage = Outage(log, f"outbox relay of {table}")
        self.published_total = 0

    def wake(self) -> None:
        self._wakeup.set()

    def hand_over(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Rows a request of this process has just committed (each with the table's columns), for an
        ``each_process`` relay to publish at once."""
        self._handed.extend(rows)
        self.wake()

    async def run(self, stopping: asyncio.Event) -> None:
        try:
            if self._each_process:
                await self._relay_in_each_process(stopping)
            else:
                await self._relay_alone(stopping)
        finally:
            if self._producer is not None:
                await self._producer.stop()
                self._producer = None

    async def _relay_alone(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                async with self._pool.acquire() as lock_conn:
                    if not await lock_conn.fetchval(
                        "SELECT pg_try_advisory_lock(hashtext($1))", self._lock_name
                    ):
                        await self._idle(5.0)
                        continue
                    try:
                        while not stopping.is_set():
                            # Fewer rows than a batch holds were all there were when it was read; any
                            # committed since woke the relay, so the idle wait ends at once for them.
                            if await self._publish_pending() < PUBLISH_BATCH:
                                await self._idle(1.0)
                    finally:
                        await lock_conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self._lock_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._outage.failed(exc)
                await asyncio.sleep(1.0)

    async def _relay_in_each_process(self, stopping: asyncio.Event) -> None:
        next_look = 0.0
        looking: asyncio.Task[None] | None = None
        try:
            while not stopping.is_set():
                if self._handed:
                    rows, self._handed = self._handed, []
                    # Marked out before the task starts, so a look for rows left behind never takes them.
                    self._publishing.update(row["event_id"] for row in rows)
                    self._start(self._publish_handed(rows))
                if (looking is None or looking.done()) and time.monotonic() >= next_look:
                    next_look = time.monotonic() + self._poll_seconds
                    looking = self._start(self._publish_left_behind_once())
                if not self._handed:
                    await self._idle(max(0.0, next_look - time.monotonic()))
        finally:
            for task in self._in_flight:
                task.cancel()
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _start(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(work)
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return task

    async def _publish_handed(self, rows: list[Mapping[str, Any]]) -> None:
        """Publish rows handed over and stamp them. When Kafka does not take them, they are tried again a
        second later for as long as a request waits for them, and left to ``_publish_left_behind`` then."""
        events = [row["event_id"] for row in rows]
        try:
            await self._send_all(rows)
            async with self._pool.acquire() as conn:
                await conn.execute(
                    f"UPDATE {self._table} SET published_at = now() "
                    "WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL",
                    events,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._outage.failed(exc)
            await asyncio.sleep(1.0)
            self.hand_over([row for row in rows if row["event_id"] in self._waiters])
            return
        finally:
            self._publishing.difference_update(events)
        self._outage.recovered()
        self._published(rows)

    async def _publish_left_behind_once(self) -> None:
        """``_publish_left_behind``, beside the rows handed over: a look held up by Kafka holds up no
        request."""
        try:
            await self._publish_left_behind()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._outage.failed(exc)

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()

    async def _publish_pending(self, limit: int = PUBLISH_BATCH) -> int:
        # Clear before reading: a commit that wakes the relay while this batch is out is read next round.
        self._wakeup.clear()
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT id, {self._rows.columns} FROM {self._table} "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1",
                limit,
            )
        if rows:
            # No connection is held while Kafka is waited for.
            await self._send_all(rows)
            async with self._pool.acquire() as conn:
                await self._stamp(conn, rows)
        self._outage.recovered()
        return self._published(rows)

    async def _publish_left_behind(self, limit: int = PUBLISH_BATCH) -> int:
        """Rows unpublished for ``left_behind_seconds``, each taken by one relay (locked until stamped; the
        others skip it)."""
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT id, {self._rows.columns} FROM {self._table} "
                "WHERE published_at IS NULL AND created_at < now() - make_interval(secs => $2) "
                "AND NOT event_id = ANY($3::uuid[]) ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                limit,
                self._left_behind_seconds,
                [*self._publishing, *(row["event_id"] for row in self._handed)],
            )
            if rows:
                await self._send_all(rows)
                await self._stamp(conn, rows)
        if rows:
            self._outage.recovered()
        return self._published(rows)

    async def _send_all(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Publish ``rows``; raises when any send fails. All or nothing, in id order: if any send fails,
        the whole batch goes again (copies of what did reach Kafka are duplicates every reader skips), so a
        case's events never reach the log out of order."""
        producer = await self._started_producer()
        pending = [await self._send(producer, row) for row in rows]
        await asyncio.gather(*pending)

    async def _stamp(self, conn: asyncpg.Connection, rows: Sequence[asyncpg.Record]) -> None:
        await conn.execute(
            f"UPDATE {self._table} SET published_at = now() WHERE id = ANY($1::bigint[])",
            [r["id"] for r in rows],
        )

    def _published(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Count the rows stamped (committed by now) and resolve the requests waiting for them."""
        if not rows:
            return 0
        self.published_total += len(rows)
        OUTBOX_PUBLISHED.labels(self._table).inc(len(rows))
        for row in rows:
            event_id = row.get("event_id")
            for waiter in self._waiters.pop(event_id, ()) if event_id is not None else ():
                if not waiter.done():
                    waiter.set_result(None)
        return len(rows)

    async def _started_producer(self) -> AIOKafkaProducer:
        """The relay's own idempotent producer (acks=all), started when it first publishes; one that cannot
        start (Kafka away) fails the batch, which is tried again."""
        async with self._producer_started:
            if self._producer is None:
                producer = make_producer(self._settings, f"relay-{self._table}")
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def _send(self, producer: AIOKafkaProducer, row: Mapping[str, Any]) -> asyncio.Future[object]:
        """Hand one row to the producer under a publish span in the trace that decided it; the future
        resolves when Kafka acknowledges it. The relay publishes with aiokafka itself: through the broker,
        each record paid for FastStream's publish middleware, twice the cost of the send."""
        out = self._rows.record(row)
        with self._tracer.start_as_current_span(
            f"{out.topic} publish",
            context=context_from_traceparent(out.traceparent),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": out.topic,
                **({"messaging.message.conversation_id": out.correlation_id} if out.correlation_id else {}),
            },
        ):
            headers = {**out.headers, **trace_headers()}
            if out.correlation_id is not None:
                headers["correlation_id"] = out.correlation_id
            future: asyncio.Future[object] = await producer.send(
                out.topic, out.value, key=out.key, headers=[(k, v.encode()) for k, v in headers.items()]
            )
        return future

    @contextlib.contextmanager
    def expecting(self, event_ids: Sequence[uuid.UUID]) -> Iterator[list[asyncio.Future[None]]]:
        """Futures resolved when this process's relay publishes these events, for ``wait_published``.
        Take them before the events are committed (or before reading whether they were published), so a
        quick relay cannot publish them unseen; they are forgotten on leaving the block."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[None]] = []
        for event_id in event_ids:
            future: asyncio.Future[None] = loop.create_future()
            self._waiters.setdefault(event_id, []).append(future)
            futures.append(future)
        try:
            yield futures
        finally:
            for event_id, future in zip(event_ids, futures, strict=True):
                future.cancel()
                waiters = self._waiters.get(event_id, [])
                if future in waiters:
                    waiters.remove(future)
                if not waiters:
                    self._waiters.pop(event_id, None)

    async def wait_published(
        self,
        event_ids: Sequence[uuid.UUID],
        within: float = 10.0,
        expected: Sequence[asyncio.Future[None]] | None = None,
    ) -> bool:
        """Wait until Kafka has these events (for answering a request only once it is durable); False
        when ``within`` seconds pass first. No database connection is held while waiting. ``expected``
        are the futures of an enclosing ``expecting`` block."""
        if expected is None:
            with self.expecting(event_ids) as futures:
                return await self._wait(event_ids, futures, within)
        return await self._wait(event_ids, expected, within)

    async def _wait(
        self, event_ids: Sequence[uuid.UUID], futures: Sequence[asyncio.Future[None]], within: float
    ) -> bool:
        if not event_ids:
            return True
        self.wake()
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _, waiting = await asyncio.wait(futures, timeout=min(self._poll_seconds, remaining))
            if not waiting:
                return True
            # Published unseen (by another process's relay, or before the futures were taken): ask the table.
            if await self._all_published(event_ids):
                return True

    async def _all_published(self, event_ids: Sequence[uuid.UUID]) -> bool:
        """Whether the outbox marks every one of these events published (by any process's relay)."""
        async with self._pool.acquire() as conn:
            count = await conn.fetchval(
                f"SELECT count(*) FROM {self._table} "
                "WHERE event_id = ANY($1::uuid[]) AND published_at IS NOT NULL",
                list(event_ids),
            )
        return bool(count == len(event_ids))
