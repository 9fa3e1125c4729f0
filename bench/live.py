"""The live projection rate and the stacks the bench starts: the services as ``make run`` starts them, on
topics and databases of their own (``tests.harness.Stack``), without the test harness's span files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

from bench.rebuild import produce
from cluetrail.settings import CommonSettings
from services.reporting.adapters.projector import CASE_CONSUMER, stored_positions
from services.reporting.adapters.versions import active_version, use_schema, version_schema
from tests.harness import Stack, WebhookRecorder

# The tests write every span to a file (CLUETRAIL_OTEL_EXPORTER=console); a deployment does not.
BENCH_ENV = {"CLUETRAIL_OTEL_EXPORTER": "none"}
POLL_SECONDS = 0.05


@asynccontextmanager
async def bench_stack(workdir: Path, made: list[CommonSettings], *services: str) -> AsyncIterator[Stack]:
    """``services`` running on fresh topics and databases, stopped afterwards; the stack's settings are
    added to ``made`` at once, for the bench's clean-up, which drops everything under its prefixes."""
    recorder = WebhookRecorder(keep_alive=True)
    recorder.start()
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    stack = Stack(workdir, recorder, env=BENCH_ENV)
    made.append(stack.settings())
    try:
        stack.mail.start()
        await asyncio.to_thread(stack.init)
        for name in services:
            await asyncio.to_thread(stack.start, name)
        yield stack
    finally:
        await asyncio.to_thread(stack.stop_all)
        recorder.stop()


@asynccontextmanager
async def reporting_ledger(settings: CommonSettings) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the running reporting's database; each transaction on it is aimed at the live
    projection version with ``use_schema`` (read once: nothing rebuilds it during the bench)."""
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        yield conn
    finally:
        await conn.close()


async def live_schema(conn: asyncpg.Connection) -> str:
    """The live version's schema, once reporting has made one (at start-up)."""
    for _ in range(200):
        live = await active_version(conn)
        if live is not None:
            return version_schema(live)
        await asyncio.sleep(POLL_SECONDS)
    raise RuntimeError("reporting made no live projection version")


async def live_projection_rate(
    workdir: Path, records: list[tuple[bytes, bytes]], made: list[CommonSettings]
) -> float:
    """Events per second of reporting's live consumer: ``records`` written to the case topic of a running
    reporting service (alone: no triage adds events), timed from the first write until the consumer's
    stored positions cover them all."""
    async with bench_stack(workdir, made, "reporting") as stack:
        settings = stack.settings()
        async with reporting_ledger(settings) as conn:
            schema = await live_schema(conn)
            started = time.perf_counter()
            await produce(settings, records)
            while True:
                async with conn.transaction():
                    await use_schema(conn, schema)
                    positions = await stored_positions(conn, CASE_CONSUMER, settings.case_topic)
                # A fresh topic: the offsets of each partition start at 0.
                if sum(offset + 1 for offset in positions.values()) >= len(records):
                    return len(records) / (time.perf_counter() - started)
                await asyncio.sleep(POLL_SECONDS)
