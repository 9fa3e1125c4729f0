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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry import trace

from cluetrail.kafka import event_headers
from cluetrail.logs import Outage
from cluetrail.settings import CommonSettings
from cluetrail.telemetry import context_from_traceparent
from contracts.envelope import Envelope
from contracts.events import event_bytes, read_event

log = logging.getLogger(__name__)
RELAY_LOCK = "cluetrail-outbox-relay"


async def add_to_outbox(conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
    """Store events for publishing; call inside the transaction that decided them."""
    await conn.executemany(
        "INSERT INTO outbox (event_id, case_id, seq, event, traceparent) VALUES ($1, $2, $3, $4, $5)",
        [(e.event_id, e.case_id, e.seq, event_bytes(e), e.traceparent) for e in events],
    )


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
    record: Callable[[asyncpg.Record], Outgoing]


def case_event_rows(settings: CommonSettings, table: str = "outbox") -> OutboxRows:
    """Rows of case events (the shared ``outbox``, or a table of its shape) for this region's case topic."""

    def record(row: asyncpg.Record) -> Outgoing:
        raw: bytes = row["event"]
        event = read_event(raw)
        return Outgoing(
            topic=settings.case_topic,
            key=str(row["case_id"]).encode(),
            value=raw,
            headers=event_headers(event, origin_region=row["origin_region"]),
            correlation_id=str(event.correlation_id),
            traceparent=row["traceparent"],
        )

    return OutboxRows(table, "event_id, case_id, event, traceparent, origin_region", record)


class OutboxRelay:
    """Publishes outbox rows to the case topic (given ``rows``, another table's rows to their topic);
    ``wake()`` after a commit to publish at once.

    Requests that answer only once their events are on Kafka wait with ``wait_published``, holding no
    database connection meanwhile: this process's relay resolves them in memory as it stamps rows, and a
    look at the table once a second covers a relay in another process. A relay
    that cannot publish (Kafka down, a record refused) says so once, retries every second, and says once
    when it publishes again.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        broker: KafkaBroker,
        settings: CommonSettings,
        tracer: trace.Tracer,
        *,
        table: str = "outbox",
        poll_seconds: float = 1.0,
        rows: OutboxRows | None = None,
    ) -> None:
        """``table`` holds the case events to publish: ``id`` (commit order), ``event_id``, ``case_id``,
        ``event`` (the bytes), ``traceparent``, ``origin_region`` and ``published_at`` — the shared
        ``outbox``, or a service's own table of the same shape (intake's accepted clues). ``rows`` names
        another table and the records its rows become instead (triage's anchors)."""
        self._rows = rows or case_event_rows(settings, table)
        self._table = self._rows.table
        self._lock_name = RELAY_LOCK if self._table == "outbox" else f"{RELAY_LOCK}:{self._table}"
        self._pool = pool
        self._broker = broker
        self._settings = settings
        self._tracer = tracer
        self._poll_seconds = poll_seconds
        self._wakeup = asyncio.Event()
        self._waiters: dict[uuid.UUID, list[asyncio.Future[None]]] = {}
        self._outage = Outage(log, f"outbox relay of {table}")
        self.published_total = 0

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, stopping: asyncio.Event) -> None:
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
                            if not await self._publish_pending():
                                await self._idle(1.0)
                    finally:
                        await lock_conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self._lock_name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._outage.failed(exc)
                await asyncio.sleep(1.0)

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()

    async def _publish_pending(self, limit: int = 500) -> int:
        # Clear before reading: a commit that wakes the relay while this batch is out is read next round.
        self._wakeup.clear()
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT id, {self._rows.columns} FROM {self._table} "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1",
                limit,
            )
        if not rows:
            self._outage.recovered()
            return 0
        # All or nothing, in id order: if any send fails, the whole batch goes again (copies of what did
        # reach Kafka are duplicates every reader skips), so a case's events never reach the log out of order.
        pending = [await self._send(row) for row in rows]
        await asyncio.gather(*pending)
        async with self._pool.acquire() as conn:
            await conn.execute(
                f"UPDATE {self._table} SET published_at = now() WHERE id = ANY($1::bigint[])",
                [r["id"] for r in rows],
            )
        self._outage.recovered()
        self.published_total += len(rows)
        for row in rows:
            for waiter in self._waiters.pop(row.get("event_id"), ()):
                if not waiter.done():
                    waiter.set_result(None)
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[object]:
        out = self._rows.record(row)
        token = otel_context.attach(context_from_traceparent(out.traceparent))
        try:
            future: asyncio.Future[object] = await self._broker.publish(
                out.value,
                topic=out.topic,
                key=out.key,
                headers=out.headers,
                correlation_id=out.correlation_id,
                no_confirm=True,
            )
        finally:
            otel_context.detach(token)
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
