"""When Kafka does not take a clue, intake answers 503 and keeps it; a retry with the same
Idempotency-Key publishes the very same event once Kafka takes it again.

A second intake runs on its own topics, whose case topic refuses records larger than a few hundred
bytes (``max.message.bytes``): a real broker refusing, without disturbing the session's stack.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
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


@pytest.fixture
def refusing_intake(stack: Stack) -> Iterator[RefusingIntake]:
    tag = uuid.uuid4().hex[:6]
    env = {
        **stack.env,
        "CLUETRAIL_TOPIC_PREFIX": f"{stack.env['CLUETRAIL_TOPIC_PREFIX']}-refusing{tag}",
        "CLUETRAIL_DATABASE_PREFIX": f"{stack.env['CLUETRAIL_DATABASE_PREFIX']}_refusing{tag}",
        "CLUETRAIL_INTAKE_PORT": str(free_port()),
        "CLUETRAIL_INTAKE_PUBLISH_TIMEOUT_SECONDS": "10",
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


def test_a_clue_kafka_refused_is_kept_and_republished_unchanged(refusing_intake: RefusingIntake) -> None:
    clue = demo_clues(1, seed=uuid.uuid4().int % 10**6)[0]
    key = f"refused-{uuid.uuid4()}"
    with httpx.Client(base_url=refusing_intake.url, timeout=30) as intake:
        refused = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": key})
        assert refused.status_code == 503, refused.text
        assert "retry with the same Idempotency-Key" in refused.json()["detail"]

        stored = asyncio.run(_stored(refusing_intake.settings, key))
        assert stored is not None and stored["published_at"] is None
        assert asyncio.run(_records(refusing_intake.settings)) == []

        asyncio.run(_configure(refusing_intake.settings, CASE_TOPIC_CONFIG, create=False))
        accepted = wait_until(
            lambda: (
                (r := intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": key})).status_code
                == 202
                and r
            ),
            timeout=60,
            what="the retry accepted once Kafka takes records again",
        )

    assert accepted.json()["event_id"] == str(stored["event_id"])
    assert asyncio.run(_records(refusing_intake.settings)) == [bytes(stored["event"])]
    assert asyncio.run(_stored(refusing_intake.settings, key))["published_at"] is not None
