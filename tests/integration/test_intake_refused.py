"""When Kafka does not take a clue, intake says so truly: 202 with status pending, the clue stored and
published by intake's relay as soon as Kafka takes records again, once, whether or not the reporter
retries; a retry with the same Idempotency-Key then answers published, with the same event. Waiting
requests hold no database connection, so an outage does not make answers queue behind the pool.

A second intake runs on its own topics, whose case topic refuses records larger than a few hundred
bytes (``max.message.bytes``): a real broker refusing, without disturbing the session's stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from cluetrail.demo import demo_clues
from cluetrail.kafka import CASE_TOPIC_CONFIG, notice_topic, read_log
from cluetrail.settings import CommonSettings
from tests.harness import ROOT, Stack, free_port, wait_until

pytestmark = pytest.mark.integration


@dataclass
class RefusingIntake:
    url: str
    settings: CommonSettings


async def _configure(settings: CommonSettings, config: dict[str, str], *, create: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        if create:
            await admin.create_topics(
                [
                    NewTopic(settings.case_topic, 1, 1, topic_configs=config),
                    NewTopic(settings.dead_letter_topic, 1, 1),
                    # The receipt projection reads notify's notices to reporters.
                    NewTopic(notice_topic(settings), 1, 1),
                ]
            )
        else:
            await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.case_topic, config)])
    finally:
        await admin.close()


@contextlib.contextmanager
def refusing_intake(stack: Stack, publish_timeout: float) -> Iterator[RefusingIntake]:
    tag = uuid.uuid4().hex[:6]
    env = {
        **stack.env,
        "CLUETRAIL_TOPIC_PREFIX": f"{stack.env['CLUETRAIL_TOPIC_PREFIX']}-refusing{tag}",
        "CLUETRAIL_DATABASE_PREFIX": f"{stack.env['CLUETRAIL_DATABASE_PREFIX']}_refusing{tag}",
        "CLUETRAIL_INTAKE_PORT": str(free_port()),
        "CLUETRAIL_INTAKE_PUBLISH_TIMEOUT_SECONDS": str(publish_timeout),
        "CLUETRAIL_OTEL_EXPORTER": "none",
    }
    settings = CommonSettings(
        topic_prefix=env["CLUETRAIL_TOPIC_PREFIX"], database_prefix=env["CLUETRAIL_DATABASE_PREFIX"]
    )
    asyncio.run(_configure(settings, {**CASE_TOPIC_CONFIG, "max.message.bytes": "200"}, create=True))
    url = f"http://127.0.0.1:{env['CLUETRAIL_INTAKE_PORT']}"
    with (stack.workdir / f"intake-refusing{tag}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "services.intake"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )

    def ready() -> bool:
        assert process.poll() is None, f"intake exited with {process.returncode}"
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, timeout=90, what="second intake ready")
        yield RefusingIntake(url, settings)
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _stored(settings: CommonSettings, key: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(settings.database_for("intake"))
    try:
        return await conn.fetchrow(
            "SELECT event_id, event, published_at FROM accepted_clues WHERE idempotency_key = $1", key
        )
    finally:
        await conn.close()


async def _records(settings: CommonSettings) -> list[bytes]:
    found: list[bytes] = []
    async for records, _ in read_log(settings):
        found.extend(r.value or b"" for r in records)
    return found


def test_a_clue_kafka_refused_is_pending_then_published_once_without_a_retry(stack: Stack) -> None:
    clue = demo_clues(1, seed=uuid.uuid4().int % 10**6)[0]
    key = f"refused-{uuid.uuid4()}"
    with (
        refusing_intake(stack, publish_timeout=2) as intake_at,
        httpx.Client(base_url=intake_at.url, timeout=30) as intake,
    ):
        pending = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": key})
        assert pending.status_code == 202, pending.text
        assert pending.json()["status"] == "pending" and pending.headers["Retry-After"] == "5"
        code = pending.json()["receipt_code"]

        stored = asyncio.run(_stored(intake_at.settings, key))
        assert stored is not None and stored["published_at"] is None
        assert str(stored["event_id"]) == pending.json()["event_id"]
        assert asyncio.run(_records(intake_at.settings)) == []
        # The reporter's code is good already: intake has the clue.
        assert intake.get(f"/v1/receipts/{code}").json()["status"] == "received"

        # A retry while Kafka still refuses: the same clue, still pending, no second copy.
        again = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": key})
        assert again.status_code == 202 and again.json()["status"] == "pending"
        assert again.json()["case_id"] == pending.json()["case_id"]

        # Kafka takes records again: the relay publishes the stored clue by itself.
        asyncio.run(_configure(intake_at.settings, CASE_TOPIC_CONFIG, create=False))
        wait_until(
            lambda: asyncio.run(_records(intake_at.settings)) == [bytes(stored["event"])],
            timeout=60,
            what="the stored clue published by the relay",
        )
        published = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": key})
        assert published.status_code == 202 and published.json()["status"] == "published"
        assert published.json()["event_id"] == str(stored["event_id"])

    assert asyncio.run(_records(intake_at.settings)) == [bytes(stored["event"])]
    assert asyncio.run(_stored(intake_at.settings, key))["published_at"] is not None


def test_requests_waiting_for_kafka_hold_no_database_connection(stack: Stack) -> None:
    """Thirty clues wait for a Kafka that refuses them, three times the pool's ten connections; meanwhile
    a receipt, which needs a connection, is answered at once (it waited behind the held ones before)."""
    clues = demo_clues(30, seed=uuid.uuid4().int % 10**6)
    keys = [f"waiting-{uuid.uuid4()}" for _ in clues]
    with (
        refusing_intake(stack, publish_timeout=30) as intake_at,
        httpx.Client(base_url=intake_at.url, timeout=60) as intake,
        ThreadPoolExecutor(len(clues)) as pool,
    ):
        waiting = [
            pool.submit(intake.post, "/v1/clues", json=clue, headers={"Idempotency-Key": key})
            for clue, key in zip(clues, keys, strict=True)
        ]
        wait_until(
            lambda: asyncio.run(_stored_count(intake_at.settings, keys)) == len(keys),
            timeout=30,
            what="all thirty clues stored",
        )
        code = asyncio.run(_receipt_code(intake_at.settings, keys[0]))
        receipt = intake.get(f"/v1/receipts/{code}", timeout=10)
        assert receipt.status_code == 200 and receipt.json()["status"] == "received"
        assert not any(request.done() for request in waiting), "answered before the receipt"
        answers = [request.result() for request in waiting]
    assert {a.status_code for a in answers} == {202}
    assert {a.json()["status"] for a in answers} == {"pending"}


async def _stored_count(settings: CommonSettings, keys: list[str]) -> int:
    conn = await asyncpg.connect(settings.database_for("intake"))
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM accepted_clues WHERE idempotency_key = ANY($1::text[])", keys
        )
        return count
    finally:
        await conn.close()


async def _receipt_code(settings: CommonSettings, key: str) -> str:
    conn = await asyncpg.connect(settings.database_for("intake"))
    try:
        code: str = await conn.fetchval(
            "SELECT receipt_code FROM accepted_clues WHERE idempotency_key = $1", key
        )
        return code
    finally:
        await conn.close()
