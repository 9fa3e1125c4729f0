"""Reading a case's events back from the case log, exactly as they were written.

The projection keeps where each applied event sits in the log (``history.kafka_partition`` and
``kafka_offset``); an auditor's copy of a case is read from there, not rebuilt from the projection's
columns, so every field the hash covers is present as written and each hash can be recomputed.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from cluetrail.errors import RuleViolation
from cluetrail.settings import CommonSettings


class LogUnreadable(RuleViolation):
    """The case log does not give back an event where the projection says it was written."""

    status_code = 502


WAIT_SECONDS = 20.0  # for one record, before the read is given up


async def read_documents(settings: CommonSettings, positions: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The JSON documents of the case-topic records at ``positions`` ((partition, offset), in order)."""
    if not positions:
        return []
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="none",
        max_partition_fetch_bytes=1024 * 1024,
    )
    await consumer.start()
    try:
        topic = settings.case_topic
        consumer.assign(sorted({TopicPartition(topic, p) for p, _ in positions}))
        out = []
        for partition, offset in positions:
            tp = TopicPartition(topic, partition)
            consumer.seek(tp, offset)
            try:
                record = await asyncio.wait_for(consumer.getone(tp), WAIT_SECONDS)
            except TimeoutError:
                raise LogUnreadable(
                    f"the case log gave no record at partition {partition} offset {offset} "
                    f"within {WAIT_SECONDS:.0f} s",
                    rule="reporting.log",
                ) from None
            if record.offset != offset:
                raise LogUnreadable(
                    f"the case log has no record at partition {partition} offset {offset}",
                    rule="reporting.log",
                )
            try:
                document = json.loads(record.value or b"")
            except (UnicodeDecodeError, json.JSONDecodeError):
                document = None
            if not isinstance(document, dict):
                raise LogUnreadable(
                    f"the record at partition {partition} offset {offset} is not an event document",
                    rule="reporting.log",
                )
            out.append(document)
        return out
    finally:
        await consumer.stop()
