"""Beyond one machine's single broker: three KRaft brokers (replication factor 3, min.insync.replicas 2)
and two replicas of each service (CLUETRAIL_WORKERS=2). Under a steady load of clues the leader broker of
the case topic's first partition is killed with SIGKILL, so is one replica of triage and of reporting, and a
third replica of triage joins; afterwards every clue answered 202 is in the ledger exactly once, the audit
passes, nothing is dead-lettered and no delivery reached its receiver twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from tests.faults import checks
from tests.faults.load import ClueLoad
from tests.harness import ROOT, Stack, WebhookRecorder, free_port
from tests.processes import workers_of
from tests.servers import KafkaCluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaCluster]:
    brokers = KafkaCluster(tmp_path_factory.mktemp("cluster"))
    try:
        brokers.start()
        yield brokers
    finally:
        brokers.stop()


def leader_of_first_partition(cluster: KafkaCluster, topic: str) -> int:
    async def describe() -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        partitions = described[0]["partitions"]
        return int(next(p["leader"] for p in partitions if p["partition"] == 0))

    return asyncio.run(describe())


def min_insync_replicas(cluster: KafkaCluster, topic: str) -> str:
    async def describe() -> str:
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        await admin.start()
        try:
            wanted = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"min.insync.replicas": None})
            described = await admin.describe_configs([wanted])
        finally:
            await admin.close()
        entries = described[0].resources[0][4]
        return str(next(value for name, value, *_ in entries if name == "min.insync.replicas"))

    return asyncio.run(describe())


def test_a_broker_and_replicas_killed_under_load_lose_and_repeat_nothing(
    cluster: KafkaCluster, recorder: WebhookRecorder, tmp_path: Path
) -> None:
    stack = Stack(
        tmp_path,
        recorder,
        env={
            "CLUETRAIL_KAFKA_BOOTSTRAP": cluster.bootstrap,
            "CLUETRAIL_KAFKA_REPLICATION_FACTOR": "3",
            "CLUETRAIL_WORKERS": "2",
            "CLUETRAIL_OTEL_EXPORTER": "none",
        },
    )
    extra: subprocess.Popen[bytes] | None = None
    load = ClueLoad(stack.url("intake"), rate=20, give_up_after=240, seed=int(time.time()))
    load.open()
    try:
        stack.start_all()
        # A write is acknowledged once two of the three brokers hold it: the topics keep the brokers' rule.
        assert min_insync_replicas(cluster, stack.settings().case_topic) == "2"
        load.start("cluster")
        time.sleep(5)
        leader = leader_of_first_partition(cluster, stack.settings().case_topic)
        cluster.node(leader).kill()
        for name in ("triage", "reporting"):
            os.kill(min(workers_of(stack, name)), signal.SIGKILL)
        # A third replica of triage joins its group while the others recover.
        env = {**stack.env, "CLUETRAIL_TRIAGE_PORT": str(free_port()), "CLUETRAIL_WORKERS": "1"}
        extra = subprocess.Popen(
            [sys.executable, "-m", "services.triage"],
            env=env,
            cwd=ROOT,
            stdout=stack.log_file("triage-extra").open("ab"),
            stderr=subprocess.STDOUT,
        )
        time.sleep(10)
        cluster.node(leader).start()
        time.sleep(5)
        sent = load.stop()
        assert load.drain(300) == 0
        assert sent > 200
        assert extra.poll() is None, "the added triage replica exited"

        auditor = stack.token("auditor", "340000", subject="cluster-test")
        results = [checks.answers(load.clues, 0)]
        with httpx.Client(
            base_url=stack.url("reporting"), timeout=60, headers={"Authorization": f"Bearer {auditor}"}
        ) as reporting:
            results.append(checks.ledger(reporting, load.clues, 300))
        results += [
            checks.audit_verify(stack),
            checks.dead_letters(stack),
            checks.deliveries(list(recorder.received), list(stack.mail.received), []),
        ]
        failed = [f"{c.name}: {c.detail}" for c in results if not c.ok]
        assert not failed, failed
    finally:
        load.close()
        if extra is not None and extra.poll() is None:
            extra.terminate()
            extra.wait(30)
        stack.stop_all()
