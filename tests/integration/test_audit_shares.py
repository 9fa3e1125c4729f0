"""``cluetrail audit verify`` in shares of the topic's partitions, on the real broker: whole chains give the
counts one process gives, and a chain written across two shares' partitions is judged by one process.

The golden cases go to a topic of their own with four partitions, each case in one partition as the case
key puts it, plus a record that is no event at all (poison a consumer dead-lettered).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from cluetrail.kafka import kafka_connection
from cluetrail.settings import CommonSettings
from contracts.envelope import canonical_bytes, compute_hash, uuid7
from contracts.events import event_bytes
from services.reporting.adapters.audit_shares import verify_in_shares
from services.reporting.adapters.log import verify_topic
from services.reporting.domain.audit import AuditReport
from services.reporting.entrypoints.cli.common import progress_bar
from tests.integration.golden_reporting import golden_cases

pytestmark = pytest.mark.integration
PARTITIONS = 4


@pytest.fixture
async def topic(stack_settings: CommonSettings) -> AsyncIterator[str]:
    name = f"audit-shares-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**kafka_connection(stack_settings))
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
        yield name
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def put(settings: CommonSettings, topic: str, records: list[tuple[int, bytes, bytes]]) -> None:
    """(partition, key, value) records on ``topic`` as they are."""
    producer = AIOKafkaProducer(**kafka_connection(settings), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for partition, key, value in records:
            await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


def summary(report: AuditReport) -> tuple[int, int, int, list[str], list[tuple[int, int]]]:
    verifier = report.verifier
    return (
        verifier.events_checked,
        verifier.cases_checked,
        verifier.duplicates,
        # Where each chain breaks; why may depend on the order one reader meets the partitions in.
        sorted(f"{b.case_id} {b.seq}" for b in report.breaks),
        sorted((u.partition, u.offset) for u in report.unreadable),
    )


async def verified(settings: CommonSettings, topic: str, processes: int) -> AuditReport:
    report = AuditReport()
    with progress_bar() as progress:
        await verify_topic(settings, report, progress, topic, processes)
    return report


async def test_shares_count_what_one_process_counts_and_hand_a_break_to_one_process(
    stack_settings: CommonSettings, topic: str
) -> None:
    cases = list(golden_cases().values())
    records = [
        (index % PARTITIONS, str(event.case_id).encode(), event_bytes(event))
        for index, case in enumerate(cases)
        for event in case.events
    ]
    last = cases[0].events[-1]
    records += [
        (1, b"poison", b"\xff not an event"),
        # A producer's retry of an event already written: a duplicate, not a break.
        (0, str(last.case_id).encode(), event_bytes(last)),
    ]
    await put(stack_settings, topic, records)

    with progress_bar() as progress:
        shared = AuditReport()
        assert await verify_in_shares(stack_settings, shared, progress, topic, processes=2)
    alone = await verified(stack_settings, topic, processes=1)
    assert summary(shared) == summary(alone)
    events, cases_checked, duplicates, breaks, unreadable = summary(shared)
    assert (events, cases_checked, duplicates, breaks) == (len(records) - 1, len(cases), 1, [])
    assert len(unreadable) == 1 and unreadable[0][0] == 1

    # A next event of a case, forked off its chain, written against its key to a partition of the other
    # share: that share sees a chain starting in the middle, so the shares' verdict is set aside and one
    # process judges. (One reader meets the partitions in no fixed order: the forked event breaks the
    # chain at its seq whichever it meets first — a gap before the case's own events, a fork after them.)
    # (Another case than the one delivered twice: a broken chain's later copies are not counted.)
    other = cases[1].events[-1]  # its case is in partition 1, of the second share
    written = json.loads(event_bytes(other))
    forked = {**written, "event_id": str(uuid7()), "seq": other.seq + 1, "prev_hash": "0" * 64}
    forked["hash"] = compute_hash(forked)
    await put(stack_settings, topic, [(0, str(other.case_id).encode(), canonical_bytes(forked))])
    with progress_bar() as progress:
        assert not await verify_in_shares(stack_settings, AuditReport(), progress, topic, processes=2)
    judged = summary(await verified(stack_settings, topic, processes=2))
    assert judged == summary(await verified(stack_settings, topic, processes=1))
    assert judged[3] == [f"{other.case_id} {other.seq + 1}"]
