"""``make bench``: load N events and measure the pipeline against raw Kafka and PostgreSQL baselines.

Figures, all measured in this run on fresh topics and databases:
- raw aiokafka read rate of the case topic (baseline) vs. the reporting projection rebuild rate;
- raw PostgreSQL COPY rate (baseline) vs. the same rebuild rate;
- raw aiokafka send-and-wait (acks=all) at a fixed concurrency (baseline) vs. intake's HTTP rate and
  p50/p99 latency at the same concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from cluetrail.db import ensure_database
from cluetrail.demo import demo_clues
from cluetrail.ids import new_receipt_code, receipt_digest
from cluetrail.kafka import ensure_topics, read_log
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
from services.reporting.rebuild import progress_bar, rebuild
from services.reporting.settings import ReportingSettings

console = Console(width=150)
ROOT = Path(__file__).resolve().parent.parent


def sealed_case_events(cases: int) -> list[tuple[bytes, bytes]]:
    """(key, value) pairs: each case a clue-reported and an assessed event, chained."""
    clues = demo_clues(min(cases, 500), seed=7)
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


async def rebuild_rate(events: int) -> float:
    """Events per second of ``cluetrail rebuild`` (first build of the reporting projections)."""
    settings = ReportingSettings()
    started = time.perf_counter()
    with progress_bar() as progress:
        summary = await rebuild(settings, progress)
    assert summary.applied == events, f"rebuild applied {summary.applied} of {events} events"
    return events / (time.perf_counter() - started)


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


async def under_load(
    requests: int, concurrency: int, call: Callable[[int], Awaitable[None]]
) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            started = time.perf_counter()
            await call(i)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started), latencies


async def raw_send_and_wait(
    settings: CommonSettings, records: list[tuple[bytes, bytes]], concurrency: int
) -> tuple[float, list[float]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:

        async def send(i: int) -> None:
            key, value = records[i % len(records)]
            await producer.send_and_wait(settings.case_topic + ".baseline", value, key=key)

        return await under_load(len(records), concurrency, send)
    finally:
        await producer.stop()


async def intake_load(
    settings: CommonSettings, env: dict[str, str], requests: int, concurrency: int
) -> tuple[float, list[float]]:
    port = 18001
    env = {**env, "CLUETRAIL_INTAKE_PORT": str(port)}
    log = (ROOT / "var" / "bench-intake.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.intake", env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(300):
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("intake did not become ready; see var/bench-intake.log")
            clues = demo_clues(min(requests, 1000), seed=11)

            async def post(i: int) -> None:
                response = await client.post("/v1/clues", json=clues[i % len(clues)])
                if response.status_code != 202:
                    raise RuntimeError(f"intake answered {response.status_code}: {response.text}")

            await under_load(min(100, requests), concurrency, post)  # warm-up
            return await under_load(requests, concurrency, post)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


async def cleanup(settings: CommonSettings) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix + ".")]
        if topics:
            await admin.delete_topics(topics)
    finally:
        await admin.close()
    base = settings.database_url.rpartition("/")[0]
    conn = await asyncpg.connect(f"{base}/postgres")
    try:
        names = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", settings.database_prefix + "\\_%"
        )
        for row in names:
            await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()


async def main(events: int, requests: int, concurrency: int) -> None:
    tag = uuid.uuid4().hex[:6]
    env = {
        **os.environ,
        "CLUETRAIL_TOPIC_PREFIX": f"bench-{tag}",
        "CLUETRAIL_DATABASE_PREFIX": f"bench_{tag}",
    }
    os.environ.update(env)
    settings = CommonSettings()
    await ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    from aiokafka.admin import NewTopic

    await admin.create_topics([NewTopic(settings.case_topic + ".baseline", settings.case_partitions, 1)])
    await admin.close()
    try:
        console.print(f"sealing {events:,} events ({events // 2:,} cases)…")
        records = sealed_case_events(events // 2)
        produce_rate = await produce(settings, records)
        read_rate, read_count = await raw_read_rate(settings)
        copy_rate = await raw_copy_rate(settings, records)
        rebuild_per_second = await rebuild_rate(read_count)
        base_rate, base_lat = await raw_send_and_wait(settings, records[: max(requests, 1)], concurrency)
        intake_rate, intake_lat = await intake_load(settings, env, requests, concurrency)
    finally:
        await cleanup(settings)

    table = Table(
        title=f"cluetrail bench: {read_count:,} events, {requests:,} requests at concurrency {concurrency}"
    )
    for column in ("measure", "rate (/s)", "p50 ms", "p99 ms", "ratio to baseline"):
        table.add_column(column, justify="right")
    table.add_row("raw aiokafka produce, acks=all (load)", f"{produce_rate:,.0f}", "", "", "")
    table.add_row("raw aiokafka read (baseline A)", f"{read_rate:,.0f}", "", "", "1.00")
    table.add_row("raw PostgreSQL COPY (baseline B)", f"{copy_rate:,.0f}", "", "", "1.00")
    table.add_row(
        "projection rebuild (cluetrail rebuild)",
        f"{rebuild_per_second:,.0f}",
        "",
        "",
        f"{rebuild_per_second / read_rate:.2f} of A, {rebuild_per_second / copy_rate:.2f} of B",
    )
    table.add_row(
        "raw send-and-wait, acks=all (baseline C)",
        f"{base_rate:,.0f}",
        f"{percentile(base_lat, 50) * 1000:.1f}",
        f"{percentile(base_lat, 99) * 1000:.1f}",
        "1.00",
    )
    table.add_row(
        "intake POST /v1/clues",
        f"{intake_rate:,.0f}",
        f"{percentile(intake_lat, 50) * 1000:.1f}",
        f"{percentile(intake_lat, 99) * 1000:.1f}",
        f"{intake_rate / base_rate:.2f} of C",
    )
    console.print(table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 100_000)))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 2_000)))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_CONCURRENCY", 32)))
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.requests, arguments.concurrency))
