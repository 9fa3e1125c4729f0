"""The case log read back exactly as it was written: a case's events where the projection recorded them,
and the whole log for an audit or an auditor's copy (``cluetrail audit verify``, ``cluetrail log export``).

The projection keeps where each applied event sits in the log (``history.kafka_partition`` and
``kafka_offset``); an auditor's copy of a case is read from there, not rebuilt from the projection's
columns, so every field the hash covers is present as written and each hash can be recomputed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from rich.progress import Progress

from cluetrail.errors import RuleViolation
from cluetrail.kafka import ORIGIN_REGION_HEADER, anchor_topic, kafka_connection, read_log, record_header
from cluetrail.settings import CommonSettings
from services.reporting.adapters.audit_shares import verify_in_shares
from services.reporting.domain.audit import AuditReport, LogEntry, Unreadable


class LogUnreadable(RuleViolation):
    """The case log does not give back an event where the projection says it was written."""

    status_code = 502


WAIT_SECONDS = 20.0  # for one record, before the read is given up


async def read_documents(settings: CommonSettings, positions: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """The JSON documents of the case-topic records at ``positions`` ((partition, offset), in order)."""
    if not positions:
        return []
    consumer = AIOKafkaConsumer(
        **kafka_connection(settings),
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


def export_line(record: ConsumerRecord[bytes, bytes]) -> str:
    """One record as a JSON line: the event as a JSON object, or the raw value as text when it is not JSON."""
    raw = record.value or b""
    value: Any
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        value = raw.decode(errors="backslashreplace")
    line = json.dumps(
        {
            "partition": record.partition,
            "offset": record.offset,
            "key": record.key.decode(errors="backslashreplace") if record.key is not None else None,
            "timestamp": record.timestamp,
            "headers": {k: v.decode(errors="backslashreplace") for k, v in record.headers or ()},
            "value": value,
        },
        ensure_ascii=False,
    )
    # JSON leaves these unescaped, but str.splitlines and many JSONL readers end a line at them: a clue's
    # text holding one would split its record in two. They can only stand inside strings, so escape them.
    return line.translate(_LINE_BREAKS_IN_TEXT)


_LINE_BREAKS_IN_TEXT = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


async def topic_batches(
    settings: CommonSettings, topic: str | None = None
) -> AsyncIterator[tuple[list[ConsumerRecord[bytes, bytes]], int]]:
    """The topic from offset zero to its current end, in batches, each with the total to expect."""
    async for records, end in read_log(settings, topic):
        yield records, end.total


async def verify_topic(
    settings: CommonSettings,
    report: AuditReport,
    progress: Progress,
    topic: str | None = None,
    processes: int = 1,
) -> None:
    """Feed every record of the topic (the case topic by default) to ``report``, from offset zero to its
    current end (``cluetrail audit verify``): in ``processes`` shares of its partitions when that many are
    wanted and their chains are all whole (``audit_shares``), else in this process."""
    if await verify_in_shares(settings, report, progress, topic, processes):
        return
    task = None
    async for records, total in topic_batches(settings, topic):
        if task is None:
            task = progress.add_task("verifying the case log", total=total)
        verify = report.verify_value
        for record in records:
            verify(record.partition, record.offset, record.value)
        progress.advance(task, len(records))


async def region_entries(
    settings: CommonSettings, start: Mapping[int, int] | None = None
) -> AsyncIterator[tuple[list[LogEntry], dict[int, int]]]:
    """A region's own case log (in the cluster ``settings`` name) from offset zero (or ``start``: partition
    -> offset) to its current end, in batches of entries naming the region each copy comes from, each batch
    with that end (partition -> offset), where a later reading starts."""
    async for records, end in read_log(settings, start=start):
        entries = [LogEntry(r.partition, r.offset, r.value, origin=origin_of(r)) for r in records]
        yield entries, {tp.partition: offset for tp, offset in end.offsets.items()}


def origin_of(record: ConsumerRecord[bytes, bytes]) -> str | None:
    """The region a copied case event was written in (its ``origin-region`` header), None for one's own."""
    return record_header(record.headers, ORIGIN_REGION_HEADER, errors="backslashreplace")


async def anchor_topics(settings: CommonSettings, region: str) -> list[tuple[str, str]]:
    """The anchors topics in a region's cluster as (the region whose anchors it holds, topic): its own
    ``<prefix>.anchors`` first, if it exists, then each peer's replica ``<peer>.<prefix>.anchors``."""
    own = anchor_topic(settings)
    consumer = AIOKafkaConsumer(**kafka_connection(settings), enable_auto_commit=False)
    await consumer.start()
    try:
        names = await consumer.topics()
    finally:
        await consumer.stop()
    # A replica of a replica (<a>.<b>.<prefix>.anchors) is no region's own: MirrorMaker copies own topics.
    peers = sorted(
        (name.removesuffix(f".{own}"), name)
        for name in names
        if name.endswith(f".{own}") and "." not in name.removesuffix(f".{own}")
    )
    return ([(region, own)] if own in names else []) + peers


async def topic_values(settings: CommonSettings, topic: str) -> list[bytes]:
    """Every record value of a (small) topic, in log order."""
    values: list[bytes] = []
    async for records, _ in read_log(settings, topic):
        values += [r.value or b"" for r in sorted(records, key=lambda r: (r.partition, r.offset))]
    return values


def file_entries(path: Path) -> Iterator[LogEntry | Unreadable]:
    """The entries of an export; a line that is not a record is reported as unreadable at its line number."""
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield LogEntry(int(record["partition"]), int(record["offset"]), record.get("value"))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                yield Unreadable(-1, number, f"line {number} of {path} is not an exported record")
