"""Replicas of one consumer on the real PostgreSQL server: two processes handed the same new partition during
a rebalance apply each record once, and batches of other partitions are not held up by each other."""

from __future__ import annotations

import asyncio
import uuid
from importlib import resources

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker
from opentelemetry import trace

from cluetrail.consume import ExactlyOnceConsumer
from cluetrail.db import ensure_database, migrate
from cluetrail.deadletter import DeadLetters
from cluetrail.settings import CommonSettings
from tests.records import consumer_record

pytestmark = pytest.mark.integration

TOPIC = "replicas.case-events"


def record(partition: int, offset: int) -> ConsumerRecord[bytes, bytes]:
    return consumer_record(
        f"{partition}:{offset}".encode(), topic=TOPIC, partition=partition, offset=offset, key=b"k"
    )


async def replicas_of_one_consumer(settings: CommonSettings, hold: float) -> tuple[asyncpg.Pool, list]:
    dsn = settings.database_for(f"replicas_{uuid.uuid4().hex[:8]}")
    await ensure_database(dsn)
    pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
    async with pool.acquire() as conn:
        await migrate(conn, resources.files("cluetrail").joinpath("sql"))
        await conn.execute(
            "CREATE TABLE applied (value text NOT NULL, at timestamptz DEFAULT clock_timestamp())"
        )

    async def apply(conn: asyncpg.Connection, incoming: ConsumerRecord[bytes, bytes]) -> None:
        await conn.execute("INSERT INTO applied (value) VALUES ($1)", (incoming.value or b"").decode())
        await asyncio.sleep(hold)  # a slow batch: the other replica arrives while this one is applying

    broker = KafkaBroker(settings.kafka_bootstrap)  # never started: nothing here is dead-lettered
    replicas = [
        ExactlyOnceConsumer(
            name="replicated",
            topic=TOPIC,
            pool=pool,
            dead_letters=DeadLetters(broker, settings, "replicated"),
            apply_record=apply,
            tracer=trace.get_tracer("test"),
        )
        for _ in range(2)
    ]
    return pool, replicas


def test_two_replicas_handed_a_new_partition_apply_each_record_once(stack_settings: CommonSettings) -> None:
    async def run() -> list[str]:
        pool, (first, second) = await replicas_of_one_consumer(stack_settings, hold=0.2)
        try:
            batch = [record(3, offset) for offset in range(5)]
            # Partition 3 has no position yet: both replicas get the same batch at once (a rebalance
            # moved the partition while the first was still applying it).
            await asyncio.gather(first.process(batch), second.process(batch))
            await second.process([record(3, 5)])
            async with pool.acquire() as conn:
                rows = await conn.fetch("SELECT value FROM applied ORDER BY at")
                position = await conn.fetchval(
                    'SELECT "offset" FROM consumer_positions '
                    "WHERE consumer = 'replicated' AND partition = 3"
                )
            assert position == 5
            return [r["value"] for r in rows]
        finally:
            await pool.close()

    assert asyncio.run(run()) == [f"3:{offset}" for offset in range(6)]


def test_replicas_apply_different_partitions_side_by_side(stack_settings: CommonSettings) -> None:
    async def run() -> None:
        pool, (first, second) = await replicas_of_one_consumer(stack_settings, hold=0)
        released = asyncio.Event()
        try:
            # Both partitions have positions already (the usual case after the first batch).
            await asyncio.gather(first.process([record(0, 0)]), second.process([record(1, 0)]))
            # The first replica's batch of partition 0 stays open until the second replica has committed
            # its batch of partition 1: with the whole topic locked it would wait for ever.
            applying = first._apply_record_raw

            async def held_open(conn: asyncpg.Connection, incoming: ConsumerRecord[bytes, bytes]) -> None:
                assert applying is not None
                await applying(conn, incoming)
                await asyncio.wait_for(released.wait(), 30)

            first._apply_record_raw = held_open
            open_batch = asyncio.create_task(first.process([record(0, 1)]))
            await asyncio.sleep(0.3)  # the first replica now holds partition 0's position
            await asyncio.wait_for(second.process([record(1, 1)]), 20)
            released.set()
            await open_batch
            async with pool.acquire() as conn:
                assert await conn.fetchval("SELECT count(*) FROM applied") == 4
        finally:
            released.set()
            await pool.close()

    asyncio.run(run())
