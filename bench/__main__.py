"""``make bench``: load N events and measure the pipeline against raw Kafka and PostgreSQL baselines.

Figures, all measured in this run on fresh topics and databases:
- raw aiokafka read rate of the case topic (baseline) vs. the reporting projection rebuild rate;
- raw PostgreSQL COPY rate (baseline) vs. the same rebuild rate;
- raw aiokafka send-and-wait (acks=all) at a fixed concurrency (baseline) vs. intake's HTTP rate and
  p50/p99 latency at the same concurrency;
- a plain PostgreSQL SELECT of the ledger and history rows of N cases under one city (baseline) vs. the
  work statistics table (工作情况统计表) of that city computed by the reporting service's code, and vs. the
  dashboard's charts of that city, at 20,000 and 50,000 cases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import asyncpg
import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from rich.console import Console
from rich.table import Table

from cluetrail.consume import decode_record
from cluetrail.db import ensure_database, migrate
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
from contracts.jurisdictions import default_registry
from services.reporting.adapters import SQL, reads
from services.reporting.adapters.projector import apply_events
from services.reporting.adapters.rebuild import rebuild
from services.reporting.adapters.reports import build_table
from services.reporting.adapters.versions import ensure_active_projection, use_active_projection
from services.reporting.domain import tables as T
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import ReportQuery, Scope, subtree
from services.reporting.entrypoints.cli.common import progress_bar
from services.reporting.entrypoints.http.dashboard import dashboard_charts
from services.reporting.settings import ReportingSettings

console = Console(width=150)
ROOT = Path(__file__).resolve().parent.parent


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


async def rebuild_rate(events: int) -> float:
    """Events per second of ``cluetrail rebuild`` (first build of the reporting projections)."""
    settings = ReportingSettings()
    started = time.perf_counter()
    with progress_bar() as progress:
        summary = await rebuild(settings, progress)
    assert summary.applied == events, f"rebuild applied {summary.applied} of {events} events"
    return events / (time.perf_counter() - started)


TABLE_CITY = "340100"  # 合肥市: every bench case of the table figures is placed under it
TABLE_SIZES = (20_000, 50_000)


@dataclass
class TableCost:
    """Seconds (median of three) to read N cases' rows with a plain SELECT, to compute the work table as
    served (summed over the month rows) and by replaying every case (as it was computed before them), to
    draw the dashboard's charts of the city, and to read every case with its history (what the charts
    read on each page load before they were aggregates)."""

    cases: int
    select_s: float
    table_s: float
    replay_s: float
    rows: int
    charts_s: float = 0.0
    read_all_s: float = 0.0


async def _median_seconds(call: Callable[[], Awaitable[object]], times: int = 3) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def table_costs(settings: CommonSettings, sizes: tuple[int, ...] = TABLE_SIZES) -> list[TableCost]:
    """Project cases under one city with the consumer's code (apply_events, batches of 2,000 events),
    then time, at each size, a plain SELECT of the ledger and history rows of those cases (the baseline)
    and the work statistics table of the city for this month, as the API computes it."""
    registry = default_registry()
    places = [
        j.code
        for j in registry.all()
        if j.level in ("community", "street") and registry.is_within(j.code, TABLE_CITY)
    ]
    records = sealed_case_events(max(sizes), places)
    dsn = settings.database_for("benchtables")
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    period = Period.of(datetime.now(CST))
    out = []
    try:
        await migrate(conn, SQL.migrations)
        await ensure_active_projection(conn)
        done = 0
        for size in sizes:
            pending = records[done * 2 : size * 2]
            for start in range(0, len(pending), 2_000):
                chunk = [
                    decode_record(
                        ConsumerRecord(
                            "bench", 0, done * 2 + start + i, 0, 0, key, value, None, 36, len(value), []
                        )
                    )
                    for i, (key, value) in enumerate(pending[start : start + 2_000])
                ]
                async with conn.transaction():
                    await use_active_projection(conn)
                    await apply_events(conn, chunk)
            done = size
            await conn.execute("ANALYZE")

            async def plain_select() -> None:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    await use_active_projection(conn)
                    await conn.fetch("SELECT * FROM ledger")
                    await conn.fetch(
                        "SELECT case_id, seq, type, occurred_at, jurisdiction, payload FROM history"
                    )

            async def replay() -> T.Table:
                cases, _ = await reads.table_cases(conn, subtree(registry, TABLE_CITY))
                return T.work_statistics(cases, registry, TABLE_CITY, period)

            work = await build_table(conn, registry, ReportQuery("work", period), Scope(TABLE_CITY))
            assert work.rows[0]["new_clues"] == size, (work.rows[0], size)
            assert work.rows == (await replay()).rows

            async def read_all() -> None:
                await reads.table_cases(conn, subtree(registry, TABLE_CITY))

            query = ReportQuery("work", period)
            now = datetime.now(CST)
            out.append(
                TableCost(
                    size,
                    await _median_seconds(plain_select),
                    await _median_seconds(partial(build_table, conn, registry, query, Scope(TABLE_CITY))),
                    await _median_seconds(replay),
                    len(work.rows),
                    await _median_seconds(
                        partial(dashboard_charts, conn, registry, Scope(TABLE_CITY), period, now)
                    ),
                    await _median_seconds(read_all),
                )
            )
    finally:
        await conn.close()
    return out


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


class KeepAliveClient:
    """HTTP/1.1 keep-alive connections that POST ready-made JSON bodies and read answers with a
    Content-Length. The load generator shares the machine's two cores with the service it measures;
    httpx spent about as much CPU per request as intake itself, so the figure measured the client too.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._opened: list[asyncio.StreamWriter] = []

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self._idle:
            reader, writer = self._idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            self._opened.append(writer)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        status_line, *header_lines = head.split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in header_lines if line)
        if "content-length" not in headers:
            raise RuntimeError(f"answer without Content-Length: {status_line}")
        answer = await reader.readexactly(int(headers["content-length"]))
        if headers.get("connection") != "close":
            self._idle.append((reader, writer))
        return int(status_line.split(" ", 2)[1]), answer

    async def close(self) -> None:
        for writer in self._opened:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self._opened), return_exceptions=True)


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of a process so far (Linux ``/proc``), None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class IntakeLoad:
    """The intake figure and where the CPU went: in intake's process and in the load generator."""

    rate: float
    latencies: list[float]
    service_cpu_ms: float | None
    client_cpu_ms: float


async def intake_load(
    settings: CommonSettings, env: dict[str, str], requests: int, concurrency: int
) -> IntakeLoad:
    port = 18001
    env = {**env, "CLUETRAIL_INTAKE_PORT": str(port)}
    log = (ROOT / "var" / "bench-intake.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.intake", env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    client = KeepAliveClient("127.0.0.1", port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as probe:
            for _ in range(300):
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
            else:
                raise RuntimeError("intake did not become ready; see var/bench-intake.log")
        bodies = [json.dumps(clue).encode() for clue in demo_clues(min(requests, 1000), seed=11)]

        async def post(i: int) -> None:
            status, answer = await asyncio.wait_for(client.post("/v1/clues", bodies[i % len(bodies)]), 30)
            if status != 202:
                raise RuntimeError(f"intake answered {status}: {answer.decode(errors='replace')}")

        await under_load(min(100, requests), concurrency, post)  # warm-up
        service_before, client_before = process_cpu_seconds(process.pid), time.process_time()
        rate, latencies = await under_load(requests, concurrency, post)
        service_after, client_after = process_cpu_seconds(process.pid), time.process_time()
        service_cpu = (
            (service_after - service_before) * 1000 / requests
            if service_before is not None and service_after is not None
            else None
        )
        return IntakeLoad(rate, latencies, service_cpu, (client_after - client_before) * 1000 / requests)
    finally:
        await client.close()
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


async def main(events: int, requests: int, concurrency: int, only: str | None = None) -> None:
    tag = uuid.uuid4().hex[:6]
    env = {
        # On this machine, with the local stack's development keys (make bench sets it too).
        "CLUETRAIL_ENVIRONMENT": "local",
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
    rebuild_part = only in (None, "rebuild")
    intake_part = only in (None, "intake")
    try:
        # The intake part only needs records for its baseline C: seal no more than it sends.
        cases = events // 2 if rebuild_part else max(requests, 2) // 2 + 1
        console.print(f"sealing {cases * 2:,} events ({cases:,} cases)…")
        records = sealed_case_events(cases)
        if rebuild_part:
            produce_rate = await produce(settings, records)
            read_rate, read_count = await raw_read_rate(settings)
            copy_rate = await raw_copy_rate(settings, records)
            rebuild_per_second = await rebuild_rate(read_count)
        tables = []
        if only in (None, "tables"):
            console.print(f"projecting {max(TABLE_SIZES):,} cases under {TABLE_CITY} for the table figures…")
            tables = await table_costs(settings)
        if intake_part:
            base_rate, base_lat = await raw_send_and_wait(settings, records[: max(requests, 1)], concurrency)
            intake = await intake_load(settings, env, requests, concurrency)
    finally:
        await cleanup(settings)

    table = Table(
        title=f"cluetrail bench ({only or 'all parts'}): {requests:,} requests at concurrency {concurrency}"
    )
    for column in ("measure", "rate (/s)", "p50 ms", "p99 ms", "ratio to baseline"):
        table.add_column(column, justify="right")
    if rebuild_part:
        table.title = (
            f"cluetrail bench: {read_count:,} events, {requests:,} requests at concurrency {concurrency}"
        )
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
    if intake_part:
        add_intake_rows(table, base_rate, base_lat, intake)
    for cost in tables:
        table.add_row(
            f"plain SELECT of ledger + history rows, {cost.cases:,} cases (baseline D)",
            f"{1 / cost.select_s:,.2f}",
            f"{cost.select_s * 1000:.0f}",
            "",
            "1.00",
        )
        table.add_row(
            f"work table of {TABLE_CITY}, {cost.cases:,} cases ({cost.rows} rows)",
            f"{1 / cost.table_s:,.2f}",
            f"{cost.table_s * 1000:.0f}",
            "",
            f"{cost.table_s / cost.select_s:.2f}x the time of D",
        )
        table.add_row(
            f"  the same, replaying every case (before the month rows), {cost.cases:,} cases",
            f"{1 / cost.replay_s:,.2f}",
            f"{cost.replay_s * 1000:.0f}",
            "",
            f"{cost.replay_s / cost.select_s:.2f}x the time of D",
        )
        table.add_row(
            f"dashboard charts of {TABLE_CITY}, {cost.cases:,} cases",
            f"{1 / cost.charts_s:,.2f}",
            f"{cost.charts_s * 1000:.0f}",
            "",
            f"{cost.charts_s / cost.select_s:.2f}x the time of D",
        )
        table.add_row(
            f"  reading every case with its history (the charts before), {cost.cases:,} cases",
            f"{1 / cost.read_all_s:,.2f}",
            f"{cost.read_all_s * 1000:.0f}",
            "",
            f"{cost.read_all_s / cost.select_s:.2f}x the time of D",
        )
    console.print(table)


def add_intake_rows(table: Table, base_rate: float, base_lat: list[float], intake: IntakeLoad) -> None:
    table.add_row(
        "raw send-and-wait, acks=all (baseline C)",
        f"{base_rate:,.0f}",
        f"{percentile(base_lat, 50) * 1000:.1f}",
        f"{percentile(base_lat, 99) * 1000:.1f}",
        "1.00",
    )
    service_cpu = "" if intake.service_cpu_ms is None else f"{intake.service_cpu_ms:.1f} ms CPU/request, "
    table.add_row(
        f"intake POST /v1/clues ({service_cpu}client {intake.client_cpu_ms:.1f} ms)",
        f"{intake.rate:,.0f}",
        f"{percentile(intake.latencies, 50) * 1000:.1f}",
        f"{percentile(intake.latencies, 99) * 1000:.1f}",
        f"{intake.rate / base_rate:.2f} of C",
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 100_000)))
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 2_000)))
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_CONCURRENCY", 32)))
    parser.add_argument(
        "--only",
        choices=("rebuild", "intake", "tables"),
        default=os.environ.get("BENCH_ONLY") or None,
        help="run one part: the rebuild with baselines A and B, intake with baseline C, or the work table "
        "with baseline D",
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.events, arguments.requests, arguments.concurrency, arguments.only))
