"""Late resends on the real broker: copies of a case's earlier events written to the log after later ones.

Two outages put them there: an intake retry with the same Idempotency-Key after triage wrote seq 2 and on
(seq 1 again), and a triage outbox relay that lost its "published" marks during a PostgreSQL outage (seq 2
again after later records). Every reader takes them for the duplicates they are, by the one chain step:
no consumer dead-letters them, the receipt is unchanged, and `cluetrail audit verify` passes the case.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cluetrail.demo import demo_clues
from cluetrail.settings import CommonSettings
from contracts.envelope import canonical_bytes
from tests.cases import dead_letters_for
from tests.commands import cluetrail
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration

# Every consumer of the case log, by group name.
CASE_LOG_CONSUMERS = ("intake-receipts", "triage", "reporting", "notify")


async def resend(
    settings: CommonSettings, case_id: str, documents: list[dict[str, Any]]
) -> tuple[TopicPartition, int]:
    """Write copies of ``documents`` to the case topic as a producer's retry would; return their partition
    and the offset after the last copy."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for document in documents:
            sent = await producer.send_and_wait(
                settings.case_topic, canonical_bytes(document), key=case_id.encode()
            )
        return TopicPartition(sent.topic, sent.partition), sent.offset + 1
    finally:
        await producer.stop()


async def committed(settings: CommonSettings, group: str, partition: TopicPartition) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(settings.consumer_group(group))
    finally:
        await admin.close()
    found = offsets.get(partition)
    return -1 if found is None else found.offset


def test_late_copies_of_earlier_events_are_duplicates_for_every_reader_and_the_audit(
    stack: Stack, stack_settings: CommonSettings, tmp_path: Path
) -> None:
    (clue,) = demo_clues(1, seed=uuid.uuid4().int % 1_000_000, jurisdictions=["340102L01003"])
    with stack.client("intake") as intake:
        accepted = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert accepted.status_code == 202, accepted.text
    case_id, code = accepted.json()["case_id"], accepted.json()["receipt_code"]

    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:

        def assessed() -> list[dict[str, Any]] | None:
            response = reporting.get(f"/v1/cases/{case_id}/events")
            found = response.json() if response.status_code == 200 else []
            return found if len(found) >= 2 else None

        events = wait_until(assessed, timeout=90, what="the case assessed by triage")
        with stack.client("intake") as intake:

            def reviewed() -> dict[str, Any] | None:
                receipt = intake.get(f"/v1/receipts/{code}").json()
                return receipt if receipt["status"] != "received" else None

            before = wait_until(reviewed, timeout=60, what="the receipt past received")

        # Seq 1 again after triage's seq 2 (the intake retry), then seq 2 again (the relay's resend).
        partition, end = asyncio.run(resend(stack_settings, case_id, [events[0], events[1]]))
        for group in CASE_LOG_CONSUMERS:
            wait_until(
                lambda group=group: asyncio.run(committed(stack_settings, group, partition)) >= end,
                timeout=60,
                what=f"consumer {group} past the resent copies",
            )
        assert asyncio.run(dead_letters_for(stack_settings, case_id)) == []
        served = reporting.get(f"/v1/cases/{case_id}/events").json()
        assert [e["seq"] for e in served] == list(range(1, len(served) + 1))
        assert served[: len(events)] == events
    with stack.client("intake") as intake:
        after = intake.get(f"/v1/receipts/{code}").json()
    assert after["status"] == before["status"] and after["history"] == before["history"]

    export = tmp_path / "case-log.jsonl"
    assert cluetrail(stack, "log", "export", str(export)).returncode == 0
    mine = [
        line for line in export.read_text(encoding="utf-8").splitlines() if json.loads(line)["key"] == case_id
    ]
    (tmp_path / "mine.jsonl").write_text("\n".join(mine) + "\n", encoding="utf-8")
    audited = cluetrail(stack, "audit", "verify", "--file", str(tmp_path / "mine.jsonl"))
    assert audited.returncode == 0, audited.stdout + audited.stderr
    assert "broken cases: 0" in audited.stdout and "duplicates: 2" in audited.stdout
