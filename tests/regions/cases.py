"""What the regions tests do as officials and auditors do: act on a case in one region, read it in both."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from aiokafka import ConsumerRecord

from cluetrail.kafka import read_log
from contracts.envelope import canonical_bytes, compute_hash, uuid7
from tests.cases import LITONG, YAOHAI, client, reader, report, unique_shop, wait_for_case
from tests.harness import Stack
from tests.regions.cluster import Region

MEASURE = {"measure": "warning_interview", "detail": "约谈门店负责人，责令停止宣传。"}
PURPOSE = {"purpose": "核实举报内容，联系举报人补充证据。"}


def log_records(stack: Stack, case_id: str) -> list[ConsumerRecord[bytes, bytes]]:
    """The case's records in the region's own case log, in log order."""

    async def read() -> list[ConsumerRecord[bytes, bytes]]:
        found: list[ConsumerRecord[bytes, bytes]] = []
        async for records, _ in read_log(stack.settings()):
            found.extend(r for r in records if r.key == case_id.encode())
        return found

    return asyncio.run(read())


def every_value(stack: Stack, topics: list[str]) -> bytes:
    """All record values and headers of ``topics`` in the region's cluster, joined."""

    async def read() -> bytes:
        parts: list[bytes] = []
        for topic in topics:
            async for records, _ in read_log(stack.settings(), topic):
                for record in records:
                    parts.append(record.value or b"")
                    parts.extend(v for _, v in record.headers)
        return b"\n".join(parts)

    return asyncio.run(read())


def accepted(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    return body


def topic_records(stack: Stack, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every committed record of ``topic`` in the region's cluster, in log order per partition."""

    async def read() -> list[ConsumerRecord[bytes, bytes]]:
        found: list[ConsumerRecord[bytes, bytes]] = []
        async for records, _ in read_log(stack.settings(), topic):
            found.extend(records)
        return found

    return asyncio.run(read())


def dead_letters(stack: Stack) -> list[dict[str, Any]]:
    """The region's dead letters, as documents (reason, consumer, the original record)."""
    return [json.loads(r.value or b"{}") for r in topic_records(stack, stack.settings().dead_letter_topic)]


# Replication lag and imports take longer than one service's reaction.
REGION_WAIT = 120


def in_region(read: httpx.Client, case_id: str, last_seq: int) -> dict[str, Any]:
    """The region's view of the case once it holds at least ``last_seq`` events."""
    return wait_for_case(read, case_id, last_seq=last_seq, timeout=REGION_WAIT)


OFFER = {"to_jurisdiction": LITONG, "reason": "实际经营地与参与人均在利通区。"}


def graded_cases(region: Region, count: int) -> list[str]:
    """``count`` new cases of 瑶海区 in ``region``, each graded."""
    case_ids = [report(region.stack, unique_shop()) for _ in range(count)]
    with reader(region.stack) as read:
        for case_id in case_ids:
            in_region(read, case_id, 2)
    return case_ids


def offer_all(region: Region, case_ids: list[str]) -> dict[str, int]:
    """瑶海区's lead office hands each case to 利通区; the seq of each offer."""
    with client(region.stack, "district_lead_officer", YAOHAI, "lead-yaohai-01") as yaohai:
        return {c: accepted(yaohai.post(f"/v1/cases/{c}/handoff", json=OFFER))["seq"] for c in case_ids}


def accept_all(region: Region, offers: dict[str, int]) -> dict[str, int]:
    """利通区's lead office in ``region`` accepts each offer once its case is there; the acceptances' seqs."""
    done = {}
    with (
        reader(region.stack) as read,
        client(region.stack, "district_lead_officer", LITONG, "lead-litong-01") as litong,
    ):
        for case_id, seq in offers.items():
            in_region(read, case_id, seq)
            done[case_id] = accepted(litong.post(f"/v1/cases/{case_id}/handoff/accept", json={}))["seq"]
    return done


def forge(document: dict[str, Any], **changes: Any) -> bytes:
    """``document`` changed, with a hash that is right for the change: only the chain can tell."""
    forged = {**document, **changes, "event_id": str(uuid7())}
    forged["hash"] = compute_hash(forged)
    return canonical_bytes(forged)
