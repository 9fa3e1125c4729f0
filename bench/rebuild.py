"""The case events every projection figure reads, and the rebuild part: reporting's ``cluetrail rebuild``
against the raw aiokafka read of the same topic (baseline A) and a raw PostgreSQL COPY of as many
history-shaped rows (baseline B)."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaProducer

from bench.results import Figure, against
from cluetrail.db import ensure_database
from cluetrail.demo import demo_clues
from cluetrail.ids import new_receipt_code, receipt_digest
from cluetrail.kafka import read_log
from cluetrail.settings import CommonSettings
from contracts.envelope import GENESIS_HASH, Actor, uuid7
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    ClueReported,
    ClueReportedPayload,
    Factor,
    event_bytes,
    seal_event,
)
from services.reporting.adapters.rebuild import rebuild
from services.reporting.entrypoints.cli.common import progress_bar
from services.reporting.settings import ReportingSettings

PART = "rebuild"


def sealed_case_events(cases: int, places: list[str] | None = None) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs: each case a clue-reported and an assessed event, chained."""
    clues = demo_clues(min(cases, 500), seed=7, jurisdictions=places)
    records = []
    for index in range(cases):
        clue = clues[index % len(clues)]
        case_id = uuid7()
        reported = seal_event(
            ClueReported,
            case_id=case_id,
            seq=1,
            prev_hash=GENESIS_HASH,
            jurisdiction=clue["jurisdiction"],
            actor=Actor(kind="reporter", id="anonymous"),
            payload=ClueReportedPayload.model_validate(
                {k: v for k, v in clue.items() if k != "jurisdiction"}
                | {"receipt_digest": receipt_digest(new_receipt_code())}
            ),
            correlation_id=case_id,
        )
        assessed = seal_event(
            CaseAssessed,
            case_id=case_id,
            seq=2,
            prev_hash=reported.hash,
            jurisdiction=clue["jurisdiction"],
            actor=Actor(kind="service", id="triage"),
            payload=AssessedPayload(
                grade="general",
                score=20,
                factors=[Factor(name="participants", value=1, points=20)],
                rule_set="bench",
                key_case=False,
                participants=clue.get("participants"),
                estimated_amount_yuan=clue.get("estimated_amount_yuan"),
            ),
            correlation_id=case_id,
            causation_id=reported.event_id,
        )
        key = str(case_id).encode()
        records += [(key, event_bytes(reported)), (key, event_bytes(assessed))]
    return records


async def produce(settings: CommonSettings, records: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=20,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    started = time.perf_counter()
    try:
        futures = [await producer.send(settings.case_topic, value, key=key) for key, value in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(records) / (time.perf_counter() - started)


async def raw_read_rate(settings: CommonSettings) -> tuple[float, int]:
    started = time.perf_counter()
    count = 0
    async for batch, _ in read_log(settings):
        count += len(batch)
    return count / (time.perf_counter() - started), count


async def raw_copy_rate(settings: CommonSettings, records: list[tuple[bytes, bytes]]) -> float:
    """PostgreSQL COPY of the same number of rows, shaped like a history row (key, seq, event JSON)."""
    dsn = settings.database_for("benchcopy")
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("DROP TABLE IF EXISTS copy_baseline")
        await conn.execute("CREATE TABLE copy_baseline (case_id text, seq int, event jsonb)")
        rows = [(key.decode(), index % 2 + 1, value.decode()) for index, (key, value) in enumerate(records)]
        started = time.perf_counter()
        await conn.copy_records_to_table("copy_baseline", records=rows, columns=["case_id", "seq", "event"])
        return len(rows) / (time.perf_counter() - started)
    finally:
        await conn.close()


async def rebuild_rate(common: CommonSettings, events: int) -> float:
    """Events per second of ``cluetrail rebuild`` (first build of the reporting projections) of the topics
    and databases ``common`` names."""
    settings = ReportingSettings(topic_prefix=common.topic_prefix, database_prefix=common.database_prefix)
    started = time.perf_counter()
    with progress_bar() as progress:
        summary = await rebuild(settings, progress)
    assert summary.applied == events, f"rebuild applied {summary.applied} of {events} events"
    return events / (time.perf_counter() - started)


async def rebuild_figures(settings: CommonSettings, records: list[tuple[bytes, bytes]]) -> list[Figure]:
    """Write ``records`` to the case topic, then time the raw read (A), the raw COPY (B) and the rebuild.
    The rebuild's figure is the fourth; the projection part adds the peer to its comparisons."""
    produce_rate = await produce(settings, records)
    read_rate, read_count = await raw_read_rate(settings)
    copy_rate = await raw_copy_rate(settings, records)
    rebuild_per_second = await rebuild_rate(settings, read_count)
    load = Figure(
        "rebuild.produce", "raw aiokafka produce, acks=all (the load)", produce_rate, "events/s", PART
    )
    read = Figure(
        "rebuild.raw_read", "raw aiokafka read of the case topic (baseline A)", read_rate, "events/s", PART,
        label="A",
    )  # fmt: skip
    copy = Figure(
        "rebuild.raw_copy", "raw PostgreSQL COPY of history-shaped rows (baseline B)", copy_rate, "rows/s",
        PART, label="B",
    )  # fmt: skip
    built = Figure(
        "rebuild.rate",
        "`cluetrail rebuild` of the reporting projections",
        rebuild_per_second,
        "events/s",
        PART,
        note=f"{read_count:,} events",
    )
    return [load, read, copy, against(built, read, copy)]
