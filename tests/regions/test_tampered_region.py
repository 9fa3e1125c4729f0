"""An altered copy in one region's own log is named from the other side: the audit across both regions
exits 1 naming the region, the case and the seq. Runs last: it leaves ningxia's log altered."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaProducer

from tests.regions.cases import accept_all, forge, graded_cases, log_records, offer_all
from tests.regions.cluster import TwoRegions

pytestmark = pytest.mark.integration


def test_a_copy_altered_in_ningxia_is_named_by_the_audit_across_regions(regions: TwoRegions) -> None:
    case_id = graded_cases(regions.anhui, 1)[0]
    accept_all(regions.ningxia, offer_all(regions.anhui, [case_id]))
    clean = regions.audit()
    assert clean.returncode == 0, clean.stdout + clean.stderr

    ningxia = regions.ningxia.stack
    documents = [json.loads(r.value) for r in log_records(ningxia, case_id)]
    altered = forge(documents[1], recorded_at="2026-01-01T00:00:00Z")

    async def tamper() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=regions.ningxia.broker.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(ningxia.settings().case_topic, altered, key=case_id.encode())
        finally:
            await producer.stop()

    asyncio.run(tamper())
    audit = regions.audit()
    output = audit.stdout + audit.stderr
    assert audit.returncode == 1, output
    named = [line for line in output.splitlines() if case_id in line and "ningxia" in line]
    assert named, output
    assert any("seq 2" in line for line in named), named
