"""notify's delivery worker run in the test process, on the real broker and database, for the tests that
drive it with their own recipients, templates or clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import httpx
from opentelemetry.sdk.trace import TracerProvider

from cluetrail.kafka import make_broker
from cluetrail.settings import CommonSettings
from services.notify.adapters.channels import SmtpConfig
from services.notify.adapters.notifier import Notifier
from services.notify.domain.backoff import RetryPolicy
from services.notify.domain.recipients import RecipientBook
from services.notify.domain.reminders import Clock
from services.notify.entrypoints.background.worker import DeliveryWorker


@asynccontextmanager
async def running_worker(
    settings: CommonSettings,
    pool: asyncpg.Pool,
    book: RecipientBook,
    *,
    client_id: str,
    attempts: int,
    smtp_port: int | None = None,
    notifier: Notifier | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[DeliveryWorker]:
    """A worker sending every 0.2 s with short retries (``attempts`` in all) until the block ends, then
    stopped cleanly with its broker."""
    provider = TracerProvider()
    broker = make_broker(settings, client_id, provider)
    await broker.start()
    stopping = asyncio.Event()
    smtp = None if smtp_port is None else SmtpConfig("127.0.0.1", smtp_port, "notify@example.gov.cn")
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            worker = DeliveryWorker(
                pool=pool,
                broker=broker,
                settings=settings,
                book=book,
                policy=RetryPolicy(0.05, 0.2, attempts),
                client=client,
                tracer=provider.get_tracer("test"),
                poll_seconds=0.2,
                smtp=smtp,
                notifier=notifier,
                clock=clock,
            )
            running = asyncio.create_task(worker.run(stopping))
            try:
                yield worker
            finally:
                stopping.set()
                await running
    finally:
        await broker.stop()
