"""Other regions' cases in this cluster's replicated case topics: where each begins (its seq 1), and its
records read back from there when it is handed to this region (docs/regions.md)."""

from __future__ import annotations

import uuid

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from cluetrail.kafka import kafka_connection
from cluetrail.settings import CommonSettings
from services.triage.adapters import SQL

Q = SQL.queries("peer_cases")


async def remember(
    conn: asyncpg.Connection, peer: str, case_id: uuid.UUID, partition: int, offset: int
) -> None:
    """Note where a case of ``peer`` begins (its seq 1) in ``peer``'s replicated topic."""
    await conn.execute(Q["remember"], peer, case_id, partition, offset)


async def start_of(conn: asyncpg.Connection, peer: str, case_id: uuid.UUID) -> tuple[int, int] | None:
    """The partition and offset where the case begins in ``peer``'s replicated topic, if it was seen."""
    row = await conn.fetchrow(Q["start_of"], peer, case_id)
    return None if row is None else (row["partition"], row["first_offset"])


async def read_case(
    settings: CommonSettings, topic: str, partition: int, first: int, before: int, case_id: uuid.UUID
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of ``case_id`` in ``topic``'s ``partition`` from offset ``first`` up to (not including)
    ``before``, in order. A case's records are all in one partition (keyed by case id)."""
    key = str(case_id).encode()
    consumer = AIOKafkaConsumer(
        **kafka_connection(settings), enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        where = TopicPartition(topic, partition)
        consumer.assign([where])
        consumer.seek(where, first)
        found: list[ConsumerRecord[bytes, bytes]] = []
        while True:
            batch = await consumer.getmany(where, timeout_ms=5000, max_records=1000)
            records = batch.get(where, [])
            if not records:
                raise LookupError(f"{topic} partition {partition} ends before offset {before}")
            for record in records:
                if record.offset >= before:
                    return found
                if record.key == key:
                    found.append(record)
    finally:
        await consumer.stop()
