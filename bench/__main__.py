"""``make bench``: the pipeline's figures, each against a raw baseline measured in the same run.

Parts (``--only PART`` runs one; all run by default), on fresh topics and databases:
- rebuild: ``cluetrail rebuild`` of N events against the raw aiokafka read of the case topic (A) and a
  raw PostgreSQL COPY of as many rows (B);
- audit: ``cluetrail audit verify`` of the rebuild part's topic against A (runs the rebuild part too);
- projection: the same events through reporting's live consumer, and through the eventsourcing library's
  projection runner into the same ledger table (the peer), both against A; the rebuild and the live
  consumer as multiples of the peer (runs the rebuild part too);
- intake: ``POST /v1/clues`` at a fixed concurrency against raw aiokafka send-and-wait (C), its latency at
  a steady 200 clues/s, and the rate of two worker processes (``CLUETRAIL_WORKERS=2``);
- latency: 100 clues/s through the four services, 202 → graded ledger row, against the raw Kafka
  produce→consume latency at the same rate at the same time (E); each service's resident memory;
- tables: the work table and the dashboard's charts of one city against a plain SELECT (D).

Every figure printed is written to ``bench/results/<YYYY-MM-DD>.json`` (``-only-<part>`` and ``-quick``
runs to files of their own); ``python -m bench.readme`` writes README.md's table from the latest full run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from rich.console import Console
from rich.table import Table

from bench.audit import audit_figures
from bench.intake import STEADY_RATE, intake_figures, intake_load, raw_send_and_wait
from bench.latency import latency_figures
from bench.live import live_projection_rate
from bench.peer import PEER, peer_rate
from bench.rebuild import rebuild_figures, sealed_case_events
from bench.results import (
    ROOT,
    Comparison,
    Figure,
    Machine,
    Results,
    against,
    comparisons_text,
    target_text,
    value_text,
)
from bench.tables import TABLE_CITY, TABLE_SIZES, table_costs, table_figures
from cluetrail.kafka import ensure_topics
from cluetrail.settings import CommonSettings

console = Console(width=160)
PARTS = ("rebuild", "projection", "audit", "intake", "latency", "tables")
# The rebuild and the live consumer against the peer: what cluetrail should reach.
PEER_TARGET = 5.0


@dataclass(frozen=True)
class Plan:
    """What one run measures, and how much."""

    parts: tuple[str, ...]
    events: int
    requests: int
    concurrency: int
    latency_rate: float
    latency_seconds: float
    table_sizes: tuple[int, ...]
    quick: bool
    only: str | None


async def cleanup(settings: CommonSettings) -> None:
    """Delete the topics and drop the databases under ``settings``' prefixes."""
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


async def own_prefixes(
    settings: CommonSettings, env: dict[str, str], part: str, made: list[CommonSettings]
) -> tuple[CommonSettings, dict[str, str]]:
    """Settings and environment naming topics and databases of ``part``'s own (added to ``made``). A
    service started on the run's topics would first replay what the parts before it wrote there: intake's
    receipts consumer read the rebuild part's 100,000 events while intake was measured, at 1.4 ms of CPU
    per request against 0.8 ms on topics of its own."""
    topic_prefix, database_prefix = f"{settings.topic_prefix}-{part}", f"{settings.database_prefix}_{part}"
    own = settings.model_copy(update={"topic_prefix": topic_prefix, "database_prefix": database_prefix})
    await ensure_topics(own)
    made.append(own)
    return own, {**env, "CLUETRAIL_TOPIC_PREFIX": topic_prefix, "CLUETRAIL_DATABASE_PREFIX": database_prefix}


async def drop_parts(made: list[CommonSettings]) -> None:
    """Drop the topics and databases of the parts measured so far, all but the run's own (``made[0]``): a
    part measured beside a few hundred thousand rows of the parts before it shares the cores with
    PostgreSQL's background work on them (autovacuum, checkpoints) and measured intake at 870 clues/s in a
    full run against 1,190 alone."""
    for each in made[1:]:
        await cleanup(each)
    del made[1:]


async def postgres_version(settings: CommonSettings) -> str:
    conn = await asyncpg.connect(settings.database_url.rpartition("/")[0] + "/postgres")
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def projection_figures(
    settings: CommonSettings,
    records: list[tuple[bytes, bytes]],
    rebuilt: list[Figure],
    workdir: Path,
    made: list[CommonSettings],
) -> list[Figure]:
    """The live consumer and the peer on the rebuild part's events; the rebuild compared with the peer."""
    read = next(f for f in rebuilt if f.key == "rebuild.raw_read")
    rebuild = next(f for f in rebuilt if f.key == "rebuild.rate")
    live_rate = await live_projection_rate(workdir / "live", records, made)
    peer_per_second, rows = await peer_rate(settings, records)
    peer = Figure(
        "projection.peer",
        f"{PEER}: ProjectionRunner into the same ledger table, PostgreSQL tracking recorder (peer P)",
        peer_per_second,
        "events/s",
        "projection",
        label="P",
        note=f"its ledger equals the rebuilt one, {rows:,} rows; one transaction per event",
    )
    live = Figure(
        "projection.live",
        "reporting's live consumer, case topic → ledger (one service process)",
        live_rate,
        "events/s",
        "projection",
    )
    against(live, read, peer)
    rebuild.also.append(Comparison(peer.name, rebuild.value / peer.value))
    for figure in (rebuild, live):
        figure.target, figure.met = f"≥ {PEER_TARGET:g}× P", figure.value / peer.value >= PEER_TARGET
    return [against(peer, read), live]


def print_table(results: Results, plan: Plan) -> None:
    title = f"cluetrail bench ({plan.only or 'all parts'}{', quick' if plan.quick else ''})"
    table = Table(title=title)
    for column in ("measure", "value", "p50 ms", "p99 ms", "against its baseline", "target"):
        table.add_column(column, justify="left" if column in ("measure", "target") else "right")
    labels = results.labels()
    for figure in results.figures:
        table.add_row(
            figure.name,
            value_text(figure),
            "" if figure.p50_ms is None else f"{figure.p50_ms:,.1f}",
            "" if figure.p99_ms is None else f"{figure.p99_ms:,.1f}",
            comparisons_text(figure, labels),
            target_text(figure),
        )
    console.print(table)
    for figure in results.figures:
        if figure.note:
            console.print(f"  {figure.name}: {figure.note}")


async def main(plan: Plan) -> Results:
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
    started = datetime.now().astimezone()
    results = Results(
        started_at=started.isoformat(timespec="seconds"),
        machine=Machine.here(await postgres_version(settings)),
        settings={
            "only": plan.only,
            "quick": plan.quick,
            "events": plan.events,
            "requests": plan.requests,
            "concurrency": plan.concurrency,
            "latency_rate": plan.latency_rate,
            "latency_seconds": plan.latency_seconds,
            "table_sizes": list(plan.table_sizes),
        },
    )
    workdir = ROOT / "var" / f"bench-{tag}"
    made = [settings]
    await ensure_topics(settings)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(settings.case_topic + ".baseline", settings.case_partitions, 1)])
    await admin.close()
    figures = results.figures
    try:
        if "rebuild" in plan.parts:
            cases = plan.events // 2
            console.print(f"sealing {cases * 2:,} events ({cases:,} cases)…")
            records = sealed_case_events(cases)
            replayed, _ = await own_prefixes(settings, env, "rebuild", made)
            rebuilt = await rebuild_figures(replayed, records)
            figures += rebuilt
            if "audit" in plan.parts:
                read = next(f for f in rebuilt if f.key == "rebuild.raw_read")
                figures += await audit_figures(replayed, read)
            if "projection" in plan.parts:
                console.print("the same events through reporting's live consumer and through the peer…")
                figures += await projection_figures(replayed, records, rebuilt, workdir, made)
            await drop_parts(made)
        if "intake" in plan.parts:
            # Baseline C sends as many sealed events as intake gets requests.
            sends = sealed_case_events(max(plan.requests, 2) // 2 + 1)[: max(plan.requests, 1)]
            base_rate, base_lat = await raw_send_and_wait(settings, sends, plan.concurrency)
            one, one_env = await own_prefixes(settings, env, "intake1", made)
            intake = await intake_load(one, one_env, plan.requests, plan.concurrency, steady_rate=STEADY_RATE)
            two, two_env = await own_prefixes(settings, env, "intake2", made)
            workers = await intake_load(two, two_env, plan.requests, plan.concurrency, workers=2)
            figures += intake_figures(base_rate, base_lat, intake, plan.concurrency, workers)
            await drop_parts(made)
        if "latency" in plan.parts:
            console.print(
                f"{plan.latency_rate:g} clues/s for {plan.latency_seconds:g} s through the services…"
            )
            figures += await latency_figures(
                workdir / "latency", plan.latency_rate, plan.latency_seconds, made
            )
            await drop_parts(made)
        if "tables" in plan.parts:
            console.print(
                f"projecting {max(plan.table_sizes):,} cases under {TABLE_CITY} for the table figures…"
            )
            figures += table_figures(await table_costs(settings, plan.table_sizes))
    finally:
        for each in made:
            await cleanup(each)
    return results


def plan_from_arguments() -> Plan:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller loads and a 10 s latency run")
    parser.add_argument("--events", type=int, default=int(os.environ.get("BENCH_EVENTS", 0)) or None)
    parser.add_argument("--requests", type=int, default=int(os.environ.get("BENCH_REQUESTS", 0)) or None)
    parser.add_argument("--concurrency", type=int, default=int(os.environ.get("BENCH_CONCURRENCY", 32)))
    parser.add_argument("--latency-rate", type=float, default=100.0, help="clues a second (default 100)")
    parser.add_argument("--latency-seconds", type=float, help="how long (default 60, quick 10)")
    parser.add_argument(
        "--only",
        choices=PARTS,
        default=os.environ.get("BENCH_ONLY") or None,
        help="run one part (projection and audit run the rebuild part too)",
    )
    arguments = parser.parse_args()
    quick = arguments.quick
    only = arguments.only
    parts = PARTS if only is None else ("rebuild", only) if only in ("projection", "audit") else (only,)
    return Plan(
        parts=parts,
        events=arguments.events or (20_000 if quick else 100_000),
        requests=arguments.requests or (500 if quick else 2_000),
        concurrency=arguments.concurrency,
        latency_rate=arguments.latency_rate,
        latency_seconds=arguments.latency_seconds or (10.0 if quick else 60.0),
        table_sizes=(2_000, 5_000) if quick else TABLE_SIZES,
        quick=quick,
        only=only,
    )


if __name__ == "__main__":
    chosen = plan_from_arguments()
    measured = asyncio.run(main(chosen))
    print_table(measured, chosen)
    console.print(f"written to {measured.write().relative_to(ROOT)}")
