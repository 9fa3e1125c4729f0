"""The delivery worker on the real PostgreSQL server and Kafka broker, with two notify instances sharing
one queue: no delivery is sent twice at once, notices of a case reach a recipient in event order, and a
recipient that never answers gets its notices dead-lettered without holding up anyone else."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider

from cluetrail.db import open_pool
from cluetrail.kafka import make_broker
from cluetrail.settings import CommonSettings
from contracts.envelope import uuid7
from contracts.jurisdictions import default_registry
from services.notify.adapters import SQL
from services.notify.adapters.deliveries import NewDelivery, add_delivery
from services.notify.domain.backoff import RetryPolicy
from services.notify.domain.recipients import Recipient, RecipientBook, Route
from services.notify.domain.signing import SignatureRefused, secret_of, verify
from services.notify.entrypoints.background.worker import DeliveryWorker
from tests.cut_line import CutLine
from tests.harness import free_port
from tests.integration.deliveries import delivery_dead_letters

pytestmark = pytest.mark.integration

SECRET = secret_of(b"demo-only-worker-test-secret-0123")


class SlowOffice:
    """A real webhook receiver that answers slowly and notes overlapping sends of one delivery."""

    def __init__(self) -> None:
        self.port = free_port()
        self.lock = threading.Lock()
        self.in_flight: set[str] = set()
        self.overlaps: list[str] = []
        self.arrivals: dict[str, list[str]] = defaultdict(list)  # delivery id -> paths, one per POST
        self.order: dict[tuple[str, str], list[int]] = defaultdict(list)  # (path, case) -> seqs accepted
        self.bad_signatures = 0

    def start(self) -> None:
        office = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                delivery = self.headers["webhook-id"]
                try:
                    verify(SECRET, self.headers, body)  # on arrival: the default 5 minutes' tolerance
                except SignatureRefused:
                    office.bad_signatures += 1
                with office.lock:
                    if delivery in office.in_flight:
                        office.overlaps.append(delivery)
                    office.in_flight.add(delivery)
                    office.arrivals[delivery].append(self.path)
                time.sleep(0.05)  # widen the window in which a second sender could pick the same delivery
                down = self.path == "/down-office"
                if not down:
                    notice = json.loads(body)
                    with office.lock:
                        office.order[(self.path, notice["case_id"])].append(notice["seq"])
                with office.lock:
                    office.in_flight.discard(delivery)
                self.send_response(503 if down else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def office() -> Iterator[SlowOffice]:
    receiver = SlowOffice()
    receiver.start()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def dsn(stack_settings: CommonSettings) -> str:
    return stack_settings.database_for(f"notifyworker_{uuid.uuid4().hex[:6]}")


@pytest.fixture
async def pools(dsn: str) -> AsyncIterator[list[asyncpg.Pool]]:
    opened = [await open_pool(dsn, SQL.migrations) for _ in range(2)]
    yield opened
    for pool in opened:
        await pool.close()


def book_for(office: SlowOffice) -> RecipientBook:
    def recipient(rid: str) -> Recipient:
        return Recipient(
            id=rid,
            name=rid,
            webhook_url=office.url(f"/{rid}"),  # type: ignore[arg-type]
            secret=SECRET,
            jurisdiction="340102",
            routes=[Route(event="closed")],
        )

    return RecipientBook(
        [recipient("lead-office"), recipient("police"), recipient("down-office")], default_registry()
    )


async def add(pool: asyncpg.Pool, recipient: str, case_id: uuid.UUID, seq: int) -> uuid.UUID:
    delivery_id = uuid7()
    body = json.dumps(
        {
            "delivery_id": str(delivery_id),
            "case_id": str(case_id),
            "seq": seq,
            "text": f"【案件办结】第 {seq} 号",
        }
    )
    async with pool.acquire() as conn:
        await add_delivery(
            conn,
            NewDelivery(delivery_id, uuid7(), recipient, case_id, seq, "closed", "340102L01003", body, None),
        )
    return delivery_id


async def statuses(pool: asyncpg.Pool) -> dict[uuid.UUID, tuple[str, int]]:
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT delivery_id, status, attempts FROM deliveries")
    return {r["delivery_id"]: (r["status"], r["attempts"]) for r in rows}


async def test_two_instances_share_the_queue_in_case_order_and_dead_letter_what_never_arrives(
    stack_settings: CommonSettings, pools: list[asyncpg.Pool], office: SlowOffice
) -> None:
    cases = [uuid7() for _ in range(6)]
    delivered: list[uuid.UUID] = []
    for case_id in cases:
        for seq in (3, 4, 5, 6):
            for recipient in ("lead-office", "police"):
                delivered.append(await add(pools[0], recipient, case_id, seq))
    dead = [await add(pools[0], "down-office", case_id, 2) for case_id in cases[:2]]

    book = book_for(office)
    policy = RetryPolicy(base_seconds=0.05, max_seconds=0.2, max_attempts=3)
    stopping = asyncio.Event()
    provider = TracerProvider()
    broker = make_broker(stack_settings, "notify-worker-test", provider)
    await broker.start()
    async with httpx.AsyncClient(timeout=5) as client:
        workers = [
            DeliveryWorker(
                pool=pool,
                broker=broker,
                settings=stack_settings,
                book=book,
                policy=policy,
                client=client,
                tracer=provider.get_tracer("test"),
                senders=4,
                poll_seconds=0.2,
            )
            for pool in pools
        ]
        running = [asyncio.create_task(w.run(stopping)) for w in workers]
        try:

            async def settled() -> dict[uuid.UUID, tuple[str, int]]:
                while True:
                    now = await statuses(pools[1])
                    done = all(now[d][0] == "delivered" for d in delivered)
                    if done and all(now[d][0] == "dead" for d in dead):
                        return now
                    await asyncio.sleep(0.1)

            final = await asyncio.wait_for(settled(), timeout=60)
            async with pools[0].acquire() as conn:
                await asyncio.wait_for(
                    _until(
                        conn,
                        "SELECT count(*) = $1 FROM deliveries WHERE dead_letter_published_at IS NOT NULL",
                        len(dead),
                    ),
                    timeout=30,
                )
                attempts_logged = await conn.fetchval(
                    "SELECT count(*) FROM delivery_attempts WHERE delivery_id = ANY($1::uuid[])", dead
                )
        finally:
            stopping.set()
            await asyncio.gather(*running)
            await broker.stop()

    assert office.overlaps == [] and office.bad_signatures == 0
    assert all(len(office.arrivals[str(d)]) == 1 for d in delivered)
    assert all(workers[i].sent_total > 0 for i in range(2))  # both instances took part
    for case_id in cases:
        for path in ("/lead-office", "/police"):
            assert office.order[(path, str(case_id))] == [3, 4, 5, 6]
    assert all(final[d] == ("dead", 3) for d in dead) and attempts_logged == 3 * len(dead)

    letters = await delivery_dead_letters(stack_settings)
    for delivery_id in dead:
        letter = letters[str(delivery_id)]
        assert letter["recipient_id"] == "down-office" and "HTTP 503" in letter["reason"]
        assert [a["status_code"] for a in letter["attempts"]] == [503, 503, 503]


async def _until(conn: asyncpg.Connection, query: str, *args: object) -> None:
    # The state is in the database, written by the workers: there is no event to wait on, so poll.
    while not await conn.fetchval(query, *args):  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def attempt_log(pool: asyncpg.Pool, delivery_id: uuid.UUID) -> list[asyncpg.Record]:
    """The delivery's attempts as its log holds them: number, settled, the receiver's status."""
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT attempt, settled, status_code FROM delivery_attempts WHERE delivery_id = $1 "
            "ORDER BY attempt",
            delivery_id,
        )


async def delivered(pool: asyncpg.Pool, delivery_id: uuid.UUID) -> None:
    """Wait (30 s at most) until a worker has marked ``delivery_id`` delivered."""
    async with pool.acquire() as conn:
        await asyncio.wait_for(
            _until(conn, "SELECT status = 'delivered' FROM deliveries WHERE delivery_id = $1", delivery_id),
            timeout=30,
        )


class HeldOffice:
    """A receiver that holds each POST until the test lets it answer, and says when one is held."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrived = threading.Event()
        self.answer = threading.Event()
        self.posts = 0

    def start(self) -> None:
        office = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                office.posts += 1
                office.arrived.set()
                office.answer.wait(timeout=30)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def book(self) -> RecipientBook:
        """瑶海区处非办, the one recipient, at this receiver."""
        return RecipientBook(
            [
                Recipient(
                    id="lead-office",
                    name="瑶海区处非办",
                    webhook_url=f"http://127.0.0.1:{self.port}/lead-office",  # type: ignore[arg-type]
                    secret=SECRET,
                    jurisdiction="340102",
                    routes=[Route(event="closed")],
                )
            ],
            default_registry(),
        )


async def test_an_attempt_is_counted_before_the_receiver_hears_of_it(
    stack_settings: CommonSettings, pools: list[asyncpg.Pool]
) -> None:
    """A notify killed while a receiver has its POST must still show that attempt: it is committed before
    the send, so what another connection reads while the receiver holds the POST is what a kill -9 at
    that moment would leave."""
    office = HeldOffice()
    office.start()
    book = office.book()
    delivery_id = await add(pools[0], "lead-office", uuid7(), 1)
    provider = TracerProvider()
    broker = make_broker(stack_settings, "notify-attempt-test", provider)
    await broker.start()
    stopping = asyncio.Event()
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            worker = DeliveryWorker(
                pool=pools[0],
                broker=broker,
                settings=stack_settings,
                book=book,
                policy=RetryPolicy(0.05, 0.2, 3),
                client=client,
                tracer=provider.get_tracer("test"),
                senders=1,
                poll_seconds=0.2,
            )
            running = asyncio.create_task(worker.run(stopping))
            try:
                await asyncio.wait_for(asyncio.to_thread(office.arrived.wait, 30), timeout=35)
                async with pools[1].acquire() as conn:
                    during = await conn.fetchrow(
                        "SELECT status, attempts, last_attempt_at FROM deliveries WHERE delivery_id = $1",
                        delivery_id,
                    )
                    logged = await conn.fetch(
                        "SELECT attempt, settled FROM delivery_attempts WHERE delivery_id = $1", delivery_id
                    )
                office.answer.set()
                await delivered(pools[1], delivery_id)
                async with pools[1].acquire() as conn:
                    after = await conn.fetchrow(
                        "SELECT attempts, last_attempt_at FROM deliveries WHERE delivery_id = $1", delivery_id
                    )
                settled = await attempt_log(pools[1], delivery_id)
            finally:
                office.answer.set()
                stopping.set()
                await running
    finally:
        await broker.stop()
        office.server.shutdown()

    assert (during["status"], during["attempts"]) == ("pending", 1) and during["last_attempt_at"] is not None
    assert [(a["attempt"], a["settled"]) for a in logged] == [(1, False)]
    assert after["attempts"] == 1 and after["last_attempt_at"] == during["last_attempt_at"]
    assert [(a["attempt"], a["settled"], a["status_code"]) for a in settled] == [(1, True, 200)]


async def test_a_database_restart_during_a_send_does_not_send_it_twice(
    stack_settings: CommonSettings, dsn: str, pools: list[asyncpg.Pool]
) -> None:
    """The receiver has the notice; notify's database goes away before the outcome is written and comes
    back while the lease still runs. The outcome waits for it and is written then: the notice is delivered
    once, with one attempt, not sent again when the lease runs out."""
    office = HeldOffice()
    office.start()
    delivery_id = await add(pools[0], "lead-office", uuid7(), 1)
    server = urlsplit(dsn)
    assert server.hostname is not None and server.port is not None
    lease = 4.0
    provider = TracerProvider()
    broker = make_broker(stack_settings, "notify-restart-test", provider)
    await broker.start()
    stopping = asyncio.Event()
    try:
        async with CutLine(server.hostname, server.port) as line, httpx.AsyncClient(timeout=5) as client:
            through = dsn.replace(f"{server.hostname}:{server.port}", f"127.0.0.1:{line.port}")
            pool = await asyncpg.create_pool(through, min_size=1, max_size=3)
            worker = DeliveryWorker(
                pool=pool,
                broker=broker,
                settings=stack_settings,
                book=office.book(),
                policy=RetryPolicy(0.05, 0.2, 3),
                client=client,
                tracer=provider.get_tracer("test"),
                senders=1,
                poll_seconds=0.2,
                lease_seconds=lease,
            )
            running = asyncio.create_task(worker.run(stopping))
            try:
                await asyncio.wait_for(asyncio.to_thread(office.arrived.wait, 30), timeout=35)
                claimed = time.monotonic()
                await line.cut()
                office.answer.set()  # the receiver has it; notify cannot write so just now
                await asyncio.sleep(1.5)
                await line.mend()
                await delivered(pools[1], delivery_id)
                # Past the lease: a send whose outcome were lost would have gone again by now.
                await asyncio.sleep(max(0.0, claimed + lease + 1.0 - time.monotonic()))
                async with pools[1].acquire() as conn:
                    row = await conn.fetchrow(
                        "SELECT status, attempts FROM deliveries WHERE delivery_id = $1", delivery_id
                    )
                log = await attempt_log(pools[1], delivery_id)
            finally:
                office.answer.set()
                stopping.set()
                await running
                await pool.close()
    finally:
        await broker.stop()
        office.server.shutdown()

    assert office.posts == 1
    assert (row["status"], row["attempts"]) == ("delivered", 1)
    assert [(a["attempt"], a["settled"], a["status_code"]) for a in log] == [(1, True, 200)]
