"""What operators rely on: health and readiness, metrics with consumer lag, a clean shutdown."""

from __future__ import annotations

import asyncio
import re
import signal
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from cluetrail.kafka import topic_partitions
from cluetrail.settings import CommonSettings
from tests.harness import SERVICES, Stack, wait_until

pytestmark = pytest.mark.integration
# The groups that read the case log, one per service.
CASE_GROUPS = ("triage", "reporting", "notify", "intake-receipts")


def test_every_service_answers_health_and_readiness(stack: Stack) -> None:
    for name in SERVICES:
        assert httpx.get(f"{stack.url(name)}/healthz", timeout=5).json() == {"status": "ok", "service": name}
        ready = httpx.get(f"{stack.url(name)}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text


def metric(text: str, name: str, **labels: str) -> float | None:
    """The first sample of ``name`` whose labels include ``labels``."""
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return None


def report_a_clue(stack: Stack) -> None:
    """A clue about a shop of its own, answered 202."""
    clue = {
        "jurisdiction": "340102L01005",  # 油坊社区
        "source": "hotline_12345",
        "subject": {"kind": "shop", "name": f"油坊消费返利超市（{uuid.uuid4().hex[:6]}）"},
        "description": "12345热线反映：超市开展充值返利活动，承诺每月返现。",
        "participants": 40,
    }
    assert httpx.post(f"{stack.url('intake')}/v1/clues", json=clue, timeout=30).status_code == 202


def test_metrics_show_events_applied_and_consumer_lag(stack: Stack) -> None:
    report_a_clue(stack)

    def reporting_metrics() -> str | None:
        text = httpx.get(f"{stack.url('reporting')}/metrics", timeout=5).text
        applied = metric(text, "cluetrail_events_applied_total", consumer="reporting", type="clue-reported")
        lag = metric(text, "cluetrail_consumer_lag_records", consumer="reporting")
        # the consumer of notify's notices is measured on its own topic
        notices_lag = metric(text, "cluetrail_consumer_lag_records", consumer="reporting-notices")
        return text if applied and applied >= 1 and lag is not None and notices_lag is not None else None

    text = wait_until(reporting_metrics, timeout=30, what="reporting metrics with lag")
    assert "faststream_received_messages_total" in text
    lags = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("cluetrail_consumer_lag_records{")
    ]
    assert lags and all(lag >= 0 for lag in lags)


def kafka_lag(settings: CommonSettings, group: str) -> dict[int, int]:
    """Per partition of the case log: its end offset less what ``group`` has committed to Kafka."""

    async def read() -> dict[int, int]:
        kafka = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group)
        await kafka.start()
        try:
            partitions = await topic_partitions(kafka, settings.case_topic)
            ends = await kafka.end_offsets(partitions)
            return {tp.partition: ends[tp] - (await kafka.committed(tp) or 0) for tp in partitions}
        finally:
            await kafka.stop()

    return asyncio.run(read())


def test_kafka_shows_every_consumer_group_caught_up_once_idle(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """Offsets go to Kafka at most once a second after batches (the stored positions are what count), and
    the last ones once a consumer is idle: ``kafka-consumer-groups`` shows no lag for a group with none."""
    report_a_clue(stack)

    def caught_up() -> dict[str, dict[int, int]] | None:
        lags = {
            group: kafka_lag(stack_settings, stack_settings.consumer_group(group)) for group in CASE_GROUPS
        }
        return lags if all(not any(lag.values()) for lag in lags.values()) else None

    wait_until(caught_up, timeout=60, what="every group's Kafka offsets at the case log's end")


def test_a_service_stops_cleanly_on_sigterm_and_comes_back(stack: Stack) -> None:
    process = stack.processes["notify"]
    log_size = stack.log_file("notify").stat().st_size
    stack.stop("notify")
    shutdown_log = stack.log_file("notify").read_bytes()[log_size:].decode(errors="replace")
    # uvicorn finishes the lifespan, then re-raises SIGTERM so the exit status tells who stopped it.
    assert process.returncode in (0, -signal.SIGTERM), shutdown_log
    assert "Application shutdown complete" in shutdown_log
    assert "Traceback" not in shutdown_log, shutdown_log
    stack.start("notify")
    assert httpx.get(f"{stack.url('notify')}/readyz", timeout=5).status_code == 200
