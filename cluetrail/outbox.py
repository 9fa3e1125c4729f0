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
import uuid
from collections.abc import Sequence

import asyncpg
from faststream.kafka import KafkaBroker
from opentelemetry import context as otel_context
from opentelemetry import trace

from cluetrail.kafka import event_headers
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


class OutboxRelay:
    """Publishes outbox rows to the case topic; ``wake()`` after a commit to publish at once."""

    def __init__(
        self, pool: asyncpg.Pool, broker: KafkaBroker, settings: CommonSettings, tracer: trace.Tracer
    ) -> None:
        self._pool = pool
        self._broker = broker
        self._settings = settings
        self._tracer = tracer
        self._wakeup = asyncio.Event()
        self._published = asyncio.Condition()
        self.published_total = 0

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                async with self._pool.acquire() as lock_conn:
                    if not await lock_conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", RELAY_LOCK):
                        await self._idle(5.0)
                        continue
                    try:
                        while not stopping.is_set():
                            if not await self._publish_pending():
                                await self._idle(1.0)
                    finally:
                        await lock_conn.execute("SELECT pg_advisory_unlock(hashtext($1))", RELAY_LOCK)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(1.0)

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), timeout=seconds)
        self._wakeup.clear()

    async def _publish_pending(self, limit: int = 500) -> int:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id, event_id, case_id, event, traceparent FROM outbox "
                "WHERE published_at IS NULL ORDER BY id LIMIT $1",
                limit,
            )
            if not rows:
                return 0
            pending = []
            for row in rows:
                pending.append(await self._send(row))
            await asyncio.gather(*pending)
            await conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
            )
        self.published_total += len(rows)
        async with self._published:
            self._published.notify_all()
        return len(rows)

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[object]:
        raw: bytes = row["event"]
        event = read_event(raw)
        token = otel_context.attach(context_from_traceparent(row["traceparent"]))
        try:
            future: asyncio.Future[object] = await self._broker.publish(
                raw,
                topic=self._settings.case_topic,
                key=str(row["case_id"]).encode(),
                headers=event_headers(event),
                correlation_id=str(event.correlation_id),
                no_confirm=True,
            )
        finally:
            otel_context.detach(token)
        return future

    async def wait_published(self, event_ids: Sequence[uuid.UUID], within: float = 10.0) -> bool:
        """Wait until Kafka has these events (for answering a request only once it is durable)."""
        self.wake()

        async def all_published() -> bool:
            async with self._pool.acquire() as conn:
                count = await conn.fetchval(
                    "SELECT count(*) FROM outbox "
                    "WHERE event_id = ANY($1::uuid[]) AND published_at IS NOT NULL",
                    list(event_ids),
                )
            return bool(count == len(event_ids))

        async def wait() -> bool:
            while not await all_published():
                with contextlib.suppress(TimeoutError):
                    async with self._published:
                        await asyncio.wait_for(self._published.wait(), timeout=1.0)
            return True

        try:
            return await asyncio.wait_for(wait(), within)
        except TimeoutError:
            return False
