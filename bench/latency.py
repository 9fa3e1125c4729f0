"""The latency part: from intake's 202 to the clue's graded row in reporting's ledger, at a steady rate,
against the raw Kafka produce→consume latency measured at the same rate at the same time (baseline E); and
each service's resident memory under that load, against its own when it was ready.

The four services run as ``make run`` runs them, on topics and databases of their own. A clue's path:
intake stores it and its relay publishes clue-reported (acks=all) before the 202; triage consumes it,
grades it and its relay publishes assessed; reporting consumes that and commits the graded ledger row.
The bench polls the ledger for the clues still waiting every ``POLL_SECONDS``, so a latency is late by at
most that and one query.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.intake import KeepAliveClient
from bench.live import bench_stack, live_schema, reporting_ledger
from bench.procfs import peak_rss_mib, tree_rss_mib
from bench.rebuild import sealed_case_events
from bench.results import Figure, against, latency, percentile
from cluetrail.demo import demo_clues
from cluetrail.settings import CommonSettings
from services.reporting.adapters.versions import quoted
from tests.harness import SERVICES

PART = "latency"
POLL_SECONDS = 0.01
MEMORY_SAMPLE_SECONDS = 0.5
# A clue not graded this long after the load ends counts as missing. Long: when the services fall behind
# the load, the clues queued at its end are still measured.
DRAIN_SECONDS = 180.0
LATENCY_TARGET = (100.0, 500.0)  # p50, p99 in ms
MEMORY_TARGET_MIB = 200.0

# The live version's ledger, named in the statement: one statement per poll. (A transaction aimed at it with
# use_schema took four — BEGIN, SET, SELECT, COMMIT — a hundred times a second, on the database server the
# services being measured share.)
GRADED = (
    "SELECT case_id FROM {schema}.ledger WHERE case_id = ANY($1::uuid[]) "
    "AND (grade IS NOT NULL OR status = 'merged')"
)


@dataclass
class ClueTimes:
    """What the clue load saw: seconds from 202 to graded row, and the clues that never got there."""

    to_ledger: list[float] = field(default_factory=list)
    # (when the 202 came, seconds to the graded row), to tell a steady latency from a growing queue.
    timeline: list[tuple[float, float]] = field(default_factory=list)
    answered: int = 0
    refused: list[str] = field(default_factory=list)
    missing: int = 0


async def clue_load(intake_port: int, settings: CommonSettings, rate: float, seconds: float) -> ClueTimes:
    """Post ``rate`` clues a second for ``seconds`` (each about a subject of its own, so none is merged),
    and time each from its 202 until reporting's ledger has its row graded."""
    count = int(rate * seconds)
    bodies = [json.dumps(clue, ensure_ascii=False).encode() for clue in demo_clues(count, seed=31)]
    client = KeepAliveClient("127.0.0.1", intake_port)
    times = ClueTimes()
    waiting: dict[uuid.UUID, float] = {}
    posting_done = asyncio.Event()

    async def post(body: bytes) -> None:
        try:
            status, answer = await asyncio.wait_for(client.post("/v1/clues", body), 30)
        except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
            # Counted and shown with the figure (it is then not met), rather than losing the run.
            times.refused.append(f"no answer: {exc!r}")
            return
        if status != 202:
            times.refused.append(f"{status}: {answer[:200].decode(errors='replace')}")
            return
        waiting[uuid.UUID(json.loads(answer)["case_id"])] = time.perf_counter()
        times.answered += 1

    async def send() -> None:
        began = time.perf_counter()
        posts = []
        for index, body in enumerate(bodies):
            await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
            posts.append(asyncio.create_task(post(body)))
        await asyncio.gather(*posts)
        posting_done.set()

    async def watch() -> None:
        async with reporting_ledger(settings) as conn:
            graded = GRADED.format(schema=quoted(await live_schema(conn)))
            deadline = None
            while not posting_done.is_set() or waiting:
                if posting_done.is_set():
                    deadline = deadline or time.perf_counter() + DRAIN_SECONDS
                    if time.perf_counter() > deadline:
                        times.missing = len(waiting)
                        return
                if waiting:
                    rows = await conn.fetch(graded, list(waiting))
                    now = time.perf_counter()
                    for row in rows:
                        answered_at = waiting.pop(row["case_id"])
                        times.to_ledger.append(now - answered_at)
                        times.timeline.append((answered_at, now - answered_at))
                await asyncio.sleep(POLL_SECONDS)

    try:
        await asyncio.gather(send(), watch())
    finally:
        await client.close()
    return times


async def raw_round_trips(settings: CommonSettings, rate: float, seconds: float) -> list[float]:
    """Seconds from the start of each acks=all send until a consumer has the record, ``rate`` records a
    second of a case event's size, on a topic of one partition."""
    topic = f"{settings.topic_prefix}.bench-latency"
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    value = sealed_case_events(1)[0][1]
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    await consumer.seek_to_end(partition)
    sent: dict[bytes, float] = {}
    trips: list[float] = []
    count = int(rate * seconds)

    async def receive() -> None:
        while len(trips) < count:
            record = await consumer.getone()
            if record.key in sent:
                trips.append(time.perf_counter() - sent.pop(record.key))

    try:
        receiving = asyncio.create_task(receive())
        began = time.perf_counter()
        for index in range(count):
            await asyncio.sleep(max(0.0, began + index / rate - time.perf_counter()))
            key = str(index).encode()
            sent[key] = time.perf_counter()
            await producer.send(topic, value, key=key)
        await asyncio.wait_for(receiving, DRAIN_SECONDS)
    finally:
        await producer.stop()
        await consumer.stop()
    return trips


def trend(timeline: list[tuple[float, float]]) -> str:
    """The p50 of the clues answered in the first and in the last tenth of the load: equal when the
    services keep up, growing when a queue builds."""
    ordered = [seconds for _, seconds in sorted(timeline)]
    tenth = max(1, len(ordered) // 10)
    first, last = percentile(ordered[:tenth], 50) * 1000, percentile(ordered[-tenth:], 50) * 1000
    return f"p50 {first:,.0f} ms for the first tenth of the clues, {last:,.0f} ms for the last"


@dataclass
class Memory:
    """Resident memory of one service, in MiB: when ready (before the load), the most under it, at its end."""

    ready: float
    peak: float = 0.0
    end: float = 0.0


async def sample_memory(pids: dict[str, int], memory: dict[str, Memory], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for name, pid in pids.items():
            memory[name].peak = max(memory[name].peak, tree_rss_mib(pid) or 0.0)
        await asyncio.sleep(MEMORY_SAMPLE_SECONDS)


async def latency_figures(
    workdir: Path, rate: float, seconds: float, made: list[CommonSettings]
) -> list[Figure]:
    """Run the four services (their settings added to ``made``), load them, and return the figures."""
    async with bench_stack(workdir, made, *SERVICES) as stack:
        settings = stack.settings()
        pids = {name: stack.processes[name].pid for name in SERVICES}
        memory = {name: Memory(ready=tree_rss_mib(pid) or 0.0) for name, pid in pids.items()}
        sampling_done = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(pids, memory, sampling_done))
        clues, raw = await asyncio.gather(
            clue_load(stack.ports["intake"], settings, rate, seconds),
            raw_round_trips(settings, rate, seconds),
        )
        sampling_done.set()
        await sampler
        for name, pid in pids.items():
            memory[name].end = tree_rss_mib(pid) or 0.0
            memory[name].peak = max(memory[name].peak, memory[name].end, peak_rss_mib(pid) or 0.0)
    if not clues.to_ledger:
        raise RuntimeError(f"no clue reached the ledger; refused: {clues.refused[:3]}")
    load = f"{rate:g} /s for {seconds:g} s"
    baseline = latency(
        "latency.raw", f"raw Kafka produce→consume, acks=all, {load} (baseline E)", raw, PART, label="E"
    )
    ledger = latency(
        "latency.ledger",
        f"clue 202 → graded row in reporting's ledger, {load}",
        clues.to_ledger,
        PART,
        target=f"p50 < {LATENCY_TARGET[0]:g} ms, p99 < {LATENCY_TARGET[1]:g} ms",
        note=f"{clues.answered:,} clues answered 202, {len(clues.refused)} refused, "
        f"{clues.missing} not graded {DRAIN_SECONDS:g} s after the load; {trend(clues.timeline)}",
    )
    ledger.met = (
        ledger.p50_ms is not None
        and ledger.p99_ms is not None
        and ledger.p50_ms < LATENCY_TARGET[0]
        and ledger.p99_ms < LATENCY_TARGET[1]
        and not clues.missing
        and not clues.refused
    )
    figures = [baseline, against(ledger, baseline)]
    for name, used in memory.items():
        ready = Figure(
            f"memory.{name}.ready", f"{name} RSS when ready (baseline)", used.ready, "MiB", PART,
            label=f"{name} ready",
        )  # fmt: skip
        figures.append(ready)
        for when, value in (("peak", used.peak), ("end", used.end)):
            figure = Figure(
                f"memory.{name}.{when}", f"{name} RSS under that load, {when}", value, "MiB", PART,
                target=f"< {MEMORY_TARGET_MIB:g} MiB", met=value < MEMORY_TARGET_MIB,
            )  # fmt: skip
            figures.append(against(figure, ready))
    return figures
