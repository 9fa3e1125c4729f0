"""The exactly-once consume loop: at-least-once delivery, exactly-once effects.

A batch of records is applied in one PostgreSQL transaction together with the consumer's position per
partition. A record at or below the stored position was applied before (redelivery after a crash) and
is skipped. Records that can never be applied (unreadable, hash mismatch, a rule the handler refuses)
go to the dead-letter topic with the reason and count as consumed, so the stream keeps moving. Anything
else (database or broker down) propagates, the batch is rolled back, and the subscriber rewinds.

A consumer with an ``apply_batch`` hands a batch's readable events to it in one call (one read and one
write for the batch rather than per event); should that call fail, the transaction is rolled back and the
batch applied again record by record with ``apply``, each in a savepoint, so a rejected record is still
dead-lettered alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from opentelemetry import trace

from cluetrail.db import DATABASE_UNAVAILABLE
from cluetrail.deadletter import DeadLetters
from cluetrail.logs import Outage
from cluetrail.metrics import DEAD_LETTERED, EVENTS_APPLIED
from cluetrail.telemetry import context_from_headers
from contracts.chain import Fault
from contracts.envelope import Envelope, compute_hash
from contracts.events import UnreadableEvent, read_document, read_event

log = logging.getLogger(__name__)


class RetryLater(Exception):
    """Raised by a ``prepare`` or apply function when the batch cannot be applied yet but will be later
    (e.g. a projection being rebuilt): the batch is rolled back and redelivered, like a lost connection."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    *DATABASE_UNAVAILABLE,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncio.TimeoutError,
    RetryLater,
)


class Rejected(Exception):
    """Raised by an apply function for an event it can never apply; the reason goes to the dead letter, with
    ``details`` (codes a reader of dead letters acts on, e.g. an importer's fault and the case's place)."""

    def __init__(self, reason: str, *, details: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.details: dict[str, str] = dict(details or {})


def _rejection(exc: Exception) -> tuple[str, dict[str, str]]:
    """The dead letter's reason and details of what an apply function raised."""
    if isinstance(exc, Rejected):
        return str(exc), exc.details
    return f"{type(exc).__name__}: {exc}", {}


@dataclass(frozen=True)
class Incoming:
    """A readable case event with the record it came in and its raw document (as written)."""

    record: ConsumerRecord[bytes, bytes]
    event: Envelope
    document: dict[str, Any]
    # The document was read as plain JSON (contracts.jsontext.read): its parts are written without a check.
    plain: bool = False


Apply = Callable[[asyncpg.Connection, Incoming], Awaitable[None]]
# Applies a batch's readable events (in log order) at once; raises as ``Apply`` does for any one of them.
ApplyBatch = Callable[[asyncpg.Connection, Sequence[Incoming]], Awaitable[None]]
# For a topic other than the case log (e.g. notify's notices): applies one raw record.
ApplyRecord = Callable[[asyncpg.Connection, ConsumerRecord[bytes, bytes]], Awaitable[None]]
_consumers: weakref.WeakSet[ExactlyOnceConsumer] = weakref.WeakSet()


def decode_record(record: ConsumerRecord[bytes, bytes]) -> Incoming:
    """Read a record as a case event and check its own hash. Raises ``Rejected`` with the reason."""
    try:
        document, plain = read_document(record.value or b"")
        event = read_event(document)  # upcasts a copy
    except UnreadableEvent as exc:
        raise Rejected(str(exc)) from exc
    if document.get("hash") != compute_hash(document, plain=plain):
        raise Rejected(
            f"hash mismatch: case {event.case_id} seq {event.seq} was altered",
            details={"fault": Fault.ALTERED.value},
        )
    if record.key is not None and record.key != str(event.case_id).encode():
        raise Rejected(f"record key {record.key!r} is not the case id {event.case_id}")
    return Incoming(record, event, document, plain)


def running_consumers() -> list[ExactlyOnceConsumer]:
    """The exactly-once consumers of this process (for lag metrics)."""
    return list(_consumers)


class ExactlyOnceConsumer:
    """Applies batches of case records to one service's database exactly once."""

    def __init__(
        self,
        *,
        name: str,
        topic: str,
        pool: asyncpg.Pool,
        dead_letters: DeadLetters,
        tracer: trace.Tracer,
        apply: Apply | None = None,
        apply_record: ApplyRecord | None = None,
        apply_batch: ApplyBatch | None = None,
        positions_table: str = "consumer_positions",
        prepare: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    ) -> None:
        """A consumer of ``topic`` takes exactly one of ``apply`` (case events, decoded and checked) and
        ``apply_record`` (each raw record of another topic, e.g. notify's notices), with the same positions
        and dead letters either way. ``apply_batch`` (with ``apply``, which applies a failed batch record by
        record) applies all of a batch's events in one call."""
        if (apply is None) == (apply_record is None):
            raise TypeError(f"consumer {name} needs exactly one of apply and apply_record")
        if apply_batch is not None and apply is None:
            raise TypeError(f"consumer {name}: apply_batch needs apply, for a batch that fails")
        self.name = name
        self.topic = topic
        self._apply_record_raw = apply_record
        self._pool = pool
        self._dead_letters = dead_letters
        self._apply = apply
        self._apply_batch = apply_batch
        self._tracer = tracer
        self._positions = positions_table
        self._prepare = prepare
        self.applied_total = 0
        self._outage = Outage(log, f"consumer {name}")
        # Held while a batch is applied: a rebalance that takes partitions away waits for it.
        self.in_flight = asyncio.Lock()
        _consumers.add(self)

    async def process(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[Incoming]:
        """Apply a batch; return the events applied now (not skipped, not dead-lettered)."""
        if not records:
            return []
        async with self.in_flight:
            return await self._process_batch(records)

    async def _process_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[Incoming]:
        try:
            async with self._pool.acquire() as conn:
                try:
                    applied = await self._process(conn, records, isolate=False)
                except TRANSIENT_ERRORS:
                    raise
                except Exception:
                    log.info("%s: batch failed, applying record by record", self.name, exc_info=True)
                    applied = await self._process(conn, records, isolate=True)
        except TRANSIENT_ERRORS as exc:
            # Logged when the outage begins and when it ends; each retry meanwhile is the batch redelivered.
            self._outage.failed(exc)
            await asyncio.sleep(1.0)
            raise
        self._outage.recovered()
        return applied

    async def _process(
        self, conn: asyncpg.Connection, records: Sequence[ConsumerRecord[bytes, bytes]], *, isolate: bool
    ) -> list[Incoming]:
        applied: list[Incoming] = []
        async with conn.transaction():
            if self._prepare is not None:
                await self._prepare(conn)
            applied_before = await self._move_positions(conn, records)
            batched = self._apply_batch is not None and not isolate
            for record in records:
                if record.offset <= applied_before.get((record.topic, record.partition), -1):
                    continue  # applied before this delivery
                incoming = await (
                    self._decode(record) if batched else self._apply_record(conn, record, isolate)
                )
                if incoming is not None:
                    applied.append(incoming)
            if batched and applied:
                await self._apply_all(conn, applied)
        self.applied_total += len(applied)
        for incoming in applied:
            EVENTS_APPLIED.labels(self.name, incoming.event.type).inc()
        return applied

    async def _decode(self, record: ConsumerRecord[bytes, bytes]) -> Incoming | None:
        """The record's event, or None once an unreadable one is dead-lettered."""
        try:
            return decode_record(record)
        except Rejected as exc:
            await self._dead_letter(record, str(exc), exc.details)
            return None

    async def _apply_all(self, conn: asyncpg.Connection, events: Sequence[Incoming]) -> None:
        """``apply_batch`` of a batch's events, each event with its span in its own trace (the one its
        record's headers carry), all spans open for the call."""
        assert self._apply_batch is not None  # only called for a consumer that has one
        spans = [
            self._tracer.start_span(
                f"{self.name} apply {incoming.event.type}",
                context=context_from_headers(incoming.record.headers),
                attributes={
                    "cluetrail.case_id": str(incoming.event.case_id),
                    "cluetrail.seq": incoming.event.seq,
                },
            )
            for incoming in events
        ]
        try:
            await self._apply_batch(conn, events)
        finally:
            for span in spans:
                span.end()

    async def _apply_record(
        self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], isolate: bool
    ) -> Incoming | None:
        if self._apply is None:
            assert self._apply_record_raw is not None  # one of the two, checked when constructed
            await self._apply_raw(conn, record, self._apply_record_raw)
            return None
        incoming = await self._decode(record)
        if incoming is None:
            return None
        with self._tracer.start_as_current_span(
            f"{self.name} apply {incoming.event.type}",
            context=context_from_headers(record.headers),
            attributes={
                "cluetrail.case_id": str(incoming.event.case_id),
                "cluetrail.seq": incoming.event.seq,
            },
        ):
            if not isolate:
                await self._apply(conn, incoming)
                return incoming
            try:
                async with conn.transaction():  # a savepoint: one bad event rolls back alone
                    await self._apply(conn, incoming)
            except TRANSIENT_ERRORS:
                raise
            except Exception as exc:
                await self._dead_letter(record, *_rejection(exc))
                return None
        return incoming

    async def _apply_raw(
        self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], apply: ApplyRecord
    ) -> None:
        """Apply one record of another topic in a savepoint: a record it rejects is dead-lettered alone."""
        try:
            async with conn.transaction():
                await apply(conn, record)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:
            await self._dead_letter(record, *_rejection(exc))

    async def stored_positions(self) -> dict[tuple[str, int], int]:
        """The last offset applied per (topic, partition), as committed with the effects."""
        async with self._pool.acquire() as conn, conn.transaction():
            if self._prepare is not None:
                await self._prepare(conn)
            rows = await conn.fetch(
                f'SELECT topic, partition, "offset" FROM {self._positions} WHERE consumer = $1', self.name
            )
        return {(r["topic"], r["partition"]): r["offset"] for r in rows}

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], reason: str, details: Mapping[str, str] | None = None
    ) -> None:
        await self._dead_letters.send(record, reason, details)
        DEAD_LETTERED.labels(self.name).inc()

    async def _move_positions(
        self, conn: asyncpg.Connection, records: Sequence[ConsumerRecord[bytes, bytes]]
    ) -> dict[tuple[str, int], int]:
        """Lock the positions of the batch's partitions and move them past the batch's records, in one
        statement; return where each stood before (-1: nothing applied), so records applied before this
        delivery are skipped. The move is committed with the batch's effects, or rolled back with them.

        Only the batch's partitions are locked, so replicas of this consumer apply other partitions
        meanwhile. A partition without a position yet gets one, so two replicas handed the same new
        partition during a rebalance take turns on its row instead of both applying it; rows are created
        and locked in one order (topic, partition), so two batches never wait on each other crosswise. A row
        a replica's batch holds is waited for, and then moved from what that batch committed."""
        last: dict[tuple[str, int], int] = {}
        for record in records:
            key = (record.topic, record.partition)
            if record.offset > last.get(key, -1):
                last[key] = record.offset
        partitions = sorted(last)
        rows = await conn.fetch(
            f'INSERT INTO {self._positions} AS p (consumer, topic, partition, "offset") '
            "SELECT $1, t, n, o FROM unnest($2::text[], $3::int[], $4::bigint[]) AS batch(t, n, o) "
            "ORDER BY t, n "
            "ON CONFLICT (consumer, topic, partition) DO UPDATE SET "
            '"offset" = GREATEST(p."offset", EXCLUDED."offset"), offset_before = p."offset", '
            "updated_at = now() "
            "RETURNING topic, partition, offset_before",
            self.name,
            [t for t, _ in partitions],
            [n for _, n in partitions],
            [last[key] for key in partitions],
        )
        return {(r["topic"], r["partition"]): r["offset_before"] for r in rows}


class KafkaCommits:
    """Kafka's committed offsets for a consumer whose positions are kept in its database (``_process``).

    Those stored positions decide where it reads and what it skips (``PositionsListener``); what Kafka keeps
    is for anyone looking at the group from outside (``kafka-consumer-groups``). Committed after every
    batch, it cost a round trip to the group coordinator that each next batch waited for, and a write to the
    broker's offsets log: a few hundred a second under a steady load of clues, on cores that the consumers
    a clue's grading waits on need. So after a batch the offsets of the records applied since the last commit
    are committed once ``every`` seconds have passed, between two batches as before; and once more when the
    consumer has had nothing to apply for ``idle`` seconds, so an idle group shows no lag. Never an offset of
    a record not applied.

    Only a consumer between batches commits, or one idle for a while: a commit sent in the middle of a
    rebalance is refused with an error that makes aiokafka drop its generation and join again, and one sent
    every second from beside the consume loop kept a group of replicas rebalancing for minutes."""

    def __init__(self, kafka: Callable[[], AIOKafkaConsumer | None], every: float, idle: float) -> None:
        self._kafka = kafka
        self._every = every
        self._idle = idle
        self._due: dict[TopicPartition, int] = {}
        self._committed_at = time.monotonic()
        self._applied_at = time.monotonic()

    async def applied(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """After a batch (applied, or skipped as applied before): commit what is due if it is time."""
        for record in records:
            partition = TopicPartition(record.topic, record.partition)
            if record.offset + 1 > self._due.get(partition, -1):
                self._due[partition] = record.offset + 1
        self._applied_at = time.monotonic()
        if self._applied_at - self._committed_at >= self._every:
            await self._commit(keep=True)

    async def run(self, stopping: asyncio.Event) -> None:
        """Commit what is left once the consumer has been idle for ``idle`` seconds, until ``stopping``."""
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self._idle)
            if self._due and time.monotonic() - self._applied_at >= self._idle:
                # Once only: were it refused, the next batch commits it.
                await self._commit(keep=False)

    async def _commit(self, *, keep: bool) -> None:
        """Commit the offsets due for the partitions still assigned; ``keep`` those Kafka refuses (a
        rebalance, the coordinator away) for the next commit: nothing else depends on them."""
        kafka = self._kafka()
        if kafka is None or not self._due:
            return
        due, self._due = self._due, {}
        self._committed_at = time.monotonic()
        assigned = kafka.assignment()
        offsets = {partition: offset for partition, offset in due.items() if partition in assigned}
        if not offsets:
            return
        try:
            await kafka.commit(offsets)
        except KafkaError as exc:
            log.debug("Kafka did not take the offsets of %s: %r", sorted(offsets), exc)
            for partition, offset in offsets.items() if keep else ():
                self._due.setdefault(partition, offset)


class PositionsListener(ConsumerRebalanceListener):
    """Rebalances of a consumer group whose replicas share partitions: partitions are handed over only
    after the batch being applied is committed (with its positions), and a replica given a partition
    starts reading it right after the last record applied (its stored position), not at Kafka's committed
    offset, which lags behind it (``KafkaCommits``)."""

    def __init__(self, consumer: ExactlyOnceConsumer, kafka: Callable[[], AIOKafkaConsumer | None]) -> None:
        self._consumer = consumer
        self._kafka = kafka

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._consumer.in_flight:
            pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        kafka = self._kafka()
        if kafka is None or not assigned:
            return
        stored = await self._consumer.stored_positions()
        for partition in sorted(assigned):
            offset = stored.get((partition.topic, partition.partition), -1)
            if offset >= 0:
                kafka.seek(partition, offset + 1)
