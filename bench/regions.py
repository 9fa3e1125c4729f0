"""``make bench-regions``: handoffs across regions against MirrorMaker 2's own replication lag.

Two regions on two brokers with MirrorMaker 2 in exactly-once mode, as the regions tests start them
(``tests.regions.cluster``), and three figures measured in the same run:

- **raw MirrorMaker lag** (the baseline): records written to a topic of region anhui at a steady rate, the
  time until a read_committed consumer in ningxia's cluster has each copy;
- **case-event replication lag**: the same for the case events anhui's services write while the cases are
  worked on and handed over (record timestamp → copy readable in ningxia);
- **handoff latency**: from the 202 of anhui's ``POST /v1/cases/{id}/handoff`` until ningxia's triage
  serves the case with the offer (imported, whole chain verified) — what 利通区's office waits for.

Exactly-once copying commits MirrorMaker's transactions every ``offset.flush.interval.ms``, so both lags
include that wait; the ratio says what the import adds on top of replication.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.table import Table

from tests.cases import LITONG, YAOHAI, client, reader, report, unique_shop
from tests.regions.cases import in_region
from tests.regions.cluster import ANHUI, TwoRegions, two_regions

RAW = "bench-raw"
console = Console()


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def raw_lag(regions: TwoRegions, count: int, rate: float) -> list[float]:
    """Write ``count`` records at ``rate``/s to anhui's raw topic; the lag of each copy in ningxia."""
    prefix = regions.anhui.stack.settings().topic_prefix
    topic = f"{prefix}.{RAW}"
    admin = AIOKafkaAdminClient(bootstrap_servers=regions.anhui.broker.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        await admin.close()
    copies = AIOKafkaConsumer(
        f"{ANHUI}.{topic}",
        bootstrap_servers=regions.ningxia.broker.bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        metadata_max_age_ms=1000,
    )
    await copies.start()
    producer = AIOKafkaProducer(bootstrap_servers=regions.anhui.broker.bootstrap, acks="all")
    await producer.start()
    lags: list[float] = []
    try:
        # MirrorMaker takes up a new topic within its refresh interval (5 s): wait for the first copy.
        await producer.send_and_wait(topic, json.dumps({"warm_up": True}).encode())
        await asyncio.wait_for(copies.getone(), 120)

        async def write() -> None:
            for index in range(count):
                await producer.send_and_wait(topic, json.dumps({"i": index, "at": time.time()}).encode())
                await asyncio.sleep(1 / rate)

        writer = asyncio.create_task(write())
        while len(lags) < count:
            record = await asyncio.wait_for(copies.getone(), 120)
            lags.append(time.time() - json.loads(record.value or b"{}")["at"])
        await writer
    finally:
        await producer.stop()
        await copies.stop()
    return lags


class CaseCopies:
    """Reads ningxia's copy of anhui's case topic in the background: when each (case, seq) arrived."""

    def __init__(self, regions: TwoRegions) -> None:
        self._regions = regions
        self.lags: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._read()), daemon=True)

    def __enter__(self) -> CaseCopies:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _read(self) -> None:
        prefix = self._regions.anhui.stack.settings().topic_prefix
        consumer = AIOKafkaConsumer(
            f"{ANHUI}.{prefix}.case-events",
            bootstrap_servers=self._regions.ningxia.broker.bootstrap,
            isolation_level="read_committed",
            auto_offset_reset="latest",
        )
        await consumer.start()
        try:
            while not self._stop.is_set():
                batches = await consumer.getmany(timeout_ms=200)
                now = time.time()
                for records in batches.values():
                    self.lags.extend(now - r.timestamp / 1000 for r in records)
        finally:
            await consumer.stop()


def handoffs(regions: TwoRegions, count: int) -> list[float]:
    """Hand ``count`` graded cases of 瑶海区 to 利通区 one after another; seconds from each 202 until
    ningxia's triage serves the case with the offer."""
    anhui, ningxia = regions.anhui.stack, regions.ningxia.stack
    case_ids = [report(anhui, unique_shop()) for _ in range(count)]
    waits = []
    with (
        reader(anhui) as read_a,
        httpx.Client(base_url=ningxia.url("triage"), timeout=30) as read_b,
        client(anhui, "district_lead_officer", YAOHAI, "lead-yaohai-01") as yaohai,
    ):
        read_b.headers["Authorization"] = f"Bearer {ningxia.token('auditor', '340000', subject='bench')}"
        for case_id in case_ids:
            in_region(read_a, case_id, 2)
        offer = {"to_jurisdiction": LITONG, "reason": "实际经营地在利通区。"}
        for case_id in case_ids:
            answer = yaohai.post(f"/v1/cases/{case_id}/handoff", json=offer)
            answered = time.monotonic()
            seq = answer.json()["seq"]
            while True:
                view = read_b.get(f"/v1/cases/{case_id}")
                if view.status_code == 200 and view.json()["last_seq"] >= seq:
                    break
                time.sleep(0.005)
            waits.append(time.monotonic() - answered)
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw", type=int, default=300, help="raw records for the baseline (300)")
    parser.add_argument("--rate", type=float, default=20, help="raw records a second (20)")
    parser.add_argument("--handoffs", type=int, default=40, help="cases handed over (40)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cluetrail-bench-regions-") as state:
        console.print("starting two regions, MirrorMaker 2 and eight services …")
        began = time.monotonic()
        with two_regions(Path(state), also_replicate=(RAW,)) as regions:
            console.print(f"ready in {time.monotonic() - began:.0f} s; raw baseline …")
            raw = asyncio.run(raw_lag(regions, args.raw, args.rate))
            console.print("handoffs …")
            with CaseCopies(regions) as copies:
                waits = handoffs(regions, args.handoffs)
                time.sleep(3)
            case_lags = copies.lags
    raw50, _ = percentiles(raw)
    table = Table(title="regions: 2 brokers, MirrorMaker 2 exactly-once, one machine")
    for column in ("figure", "samples", "p50 ms", "p99 ms", "p50 ÷ raw p50"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    for name, samples in (
        ("raw MirrorMaker lag (baseline)", raw),
        ("case events anhui → ningxia", case_lags),
        ("handoff 202 → case served in ningxia", waits),
    ):
        p50, p99 = percentiles(samples)
        table.add_row(name, str(len(samples)), f"{p50:.0f}", f"{p99:.0f}", f"{p50 / raw50:.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
