"""The intake part: ``POST /v1/clues`` at a fixed concurrency against raw aiokafka send-and-wait with
acks=all at the same concurrency (baseline C), and the CPU per request of intake and of the client; the
latency at a steady rate well below that (``STEADY_RATE``); and the rate of ``CLUETRAIL_WORKERS=2``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from aiokafka import AIOKafkaProducer

from bench.procfs import tree_cpu_seconds
from bench.results import Comparison, Figure, against, latency, percentile
from cluetrail.demo import demo_clues
from cluetrail.settings import CommonSettings
from tests.harness import ROOT
from tests.processes import listening

PART = "intake"
# A steady load, as reporters send it: each request at its instant, whatever the answers before it.
STEADY_RATE = 200.0
STEADY_SECONDS = 10.0
RATE_TARGET = 1_000.0  # clues/s of one process
STEADY_P99_TARGET_MS = 50.0


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


async def at_steady_rate(rate: float, count: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    """Start call ``i`` at ``i / rate`` seconds and time each from that instant (a late start counts)."""
    latencies: list[float] = []

    async def timed(i: int, due: float) -> None:
        await call(i)
        latencies.append(time.perf_counter() - due)

    began = time.perf_counter()
    calls = []
    for i in range(count):
        due = began + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        calls.append(asyncio.create_task(timed(i, due)))
    await asyncio.gather(*calls)
    return latencies


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

    IDLE_LIMIT_SECONDS = 2.0

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        # Connections waiting for a request, with when each became idle.
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._opened: list[asyncio.StreamWriter] = []

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        # uvicorn closes a connection idle for 5 s; one idle nearly that long may be closing as it is sent on.
        while self._idle and self._idle[0][2] < time.monotonic() - self.IDLE_LIMIT_SECONDS:
            self._idle.pop(0)[1].close()
        if self._idle:
            reader, writer, _ = self._idle.pop()
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
            self._idle.append((reader, writer, time.monotonic()))
        return int(status_line.split(" ", 2)[1]), answer

    async def close(self) -> None:
        for writer in self._opened:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in self._opened), return_exceptions=True)


@dataclass(frozen=True)
class IntakeLoad:
    """The intake figure and where the CPU went: in intake's process and in the load generator."""

    rate: float
    latencies: list[float]
    service_cpu_ms: float | None
    client_cpu_ms: float
    workers: int = 1
    # At STEADY_RATE, when measured.
    steady: list[float] | None = None


async def intake_load(
    settings: CommonSettings,
    env: dict[str, str],
    requests: int,
    concurrency: int,
    *,
    workers: int = 1,
    steady_rate: float | None = None,
) -> IntakeLoad:
    port = 18001
    env = {**env, "CLUETRAIL_INTAKE_PORT": str(port), "CLUETRAIL_WORKERS": str(workers)}
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
        for _ in range(300):  # every worker listening, or the first ones get every connection
            if listening(port) >= workers:
                break
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"not all {workers} intake workers listen; see var/bench-intake.log")
        bodies = [json.dumps(clue).encode() for clue in demo_clues(min(requests, 1000), seed=11)]

        async def post(i: int) -> None:
            status, answer = await asyncio.wait_for(client.post("/v1/clues", bodies[i % len(bodies)]), 30)
            if status != 202:
                raise RuntimeError(f"intake answered {status}: {answer.decode(errors='replace')}")

        await under_load(min(100, requests), concurrency, post)  # warm-up
        service_before, client_before = tree_cpu_seconds(process.pid), time.process_time()
        rate, latencies = await under_load(requests, concurrency, post)
        service_after, client_after = tree_cpu_seconds(process.pid), time.process_time()
        service_cpu = (
            (service_after - service_before) * 1000 / requests
            if service_before is not None and service_after is not None
            else None
        )
        steady = None
        if steady_rate is not None:
            steady = await at_steady_rate(steady_rate, int(steady_rate * STEADY_SECONDS), post)
        client_cpu = (client_after - client_before) * 1000 / requests
        return IntakeLoad(rate, latencies, service_cpu, client_cpu, workers, steady)
    finally:
        await client.close()
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=30)


def intake_figures(
    base_rate: float,
    base_lat: list[float],
    intake: IntakeLoad,
    concurrency: int,
    more_workers: IntakeLoad | None = None,
) -> list[Figure]:
    """Baseline C and intake's rate and latency, with the CPU each request cost; its latency at a steady
    rate; the rate of ``more_workers``, against C and against one process."""
    raw = latency(
        "intake.raw_send", f"raw aiokafka send-and-wait, acks=all, {concurrency} in flight (baseline C)",
        base_lat, PART, label="C",
    )  # fmt: skip
    raw_rate = Figure("intake.raw_send_rate", f"{raw.name}: rate", base_rate, "/s", PART, label="C")
    cpu = "" if intake.service_cpu_ms is None else f"{intake.service_cpu_ms:.1f} ms CPU/request, "
    posted = latency(
        "intake.post", f"intake `POST /v1/clues`, {concurrency} concurrent clients", intake.latencies, PART,
        note=f"{cpu}client {intake.client_cpu_ms:.1f} ms CPU/request",
    )  # fmt: skip
    rate = Figure(
        "intake.rate", f"{posted.name}: rate", intake.rate, "/s", PART,
        target=f"≥ {RATE_TARGET:,.0f} /s", met=intake.rate >= RATE_TARGET,
    )  # fmt: skip
    figures = [raw, raw_rate, against(posted, raw), against(rate, raw_rate)]
    if intake.steady:
        steady = latency(
            "intake.steady", f"intake `POST /v1/clues`, a steady {STEADY_RATE:g} /s for {STEADY_SECONDS:g} s",
            intake.steady, PART, target=f"p99 < {STEADY_P99_TARGET_MS:g} ms",
        )  # fmt: skip
        steady.met = steady.p99_ms is not None and steady.p99_ms < STEADY_P99_TARGET_MS
        figures.append(against(steady, raw))
    if more_workers is not None:
        lat, cpu_ms = more_workers.latencies, more_workers.service_cpu_ms
        cpu = "" if cpu_ms is None else f"{cpu_ms:.1f} ms CPU/request, "
        workers = Figure(
            "intake.workers_rate",
            f"{posted.name}, CLUETRAIL_WORKERS={more_workers.workers}: rate",
            more_workers.rate, "/s", PART,
            note=f"{cpu}all its workers together; p50 {percentile(lat, 50) * 1000:.1f} ms, "
            f"p99 {percentile(lat, 99) * 1000:.1f} ms",
        )  # fmt: skip
        against(workers, raw_rate)
        workers.also.append(Comparison(rate.name, more_workers.rate / intake.rate))
        figures.append(workers)
    return figures
