"""What the regions tests do as officials and auditors do: act on a case in one region, read it in both."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
from aiokafka import ConsumerRecord

from cluetrail.kafka import read_log
from tests.cases import unique_shop
from tests.harness import Stack, wait_until

MEASURE = {"measure": "warning_interview", "detail": "约谈门店负责人，责令停止宣传。"}
PURPOSE = {"purpose": "核实举报内容，联系举报人补充证据。"}


def officer(
    stack: Stack, role: str, jurisdiction: str, subject: str, department: str | None = None
) -> httpx.Client:
    return stack.client(
        "triage", token=stack.token(role, jurisdiction, subject=subject, department=department)
    )


def auditor(stack: Stack) -> httpx.Client:
    return stack.client("triage", token=stack.token("auditor", "340000", subject="auditor-01"))


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


def view_at(client: httpx.Client, case_id: str, last_seq: int) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        answer = client.get(f"/v1/cases/{case_id}")
        view: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
        return view if view is not None and view["last_seq"] >= last_seq else None

    found: dict[str, Any] = wait_until(reached, timeout=120, what=f"case {case_id} at seq {last_seq}")
    return found


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


def report_shop(stack: Stack, **changes: Any) -> str:
    """A new clue about a shop of 华都社区 (瑶海区) through the region's intake; its case id."""
    with stack.client("intake") as intake:
        answer = intake.post(
            "/v1/clues", json=unique_shop(**changes), headers={"Idempotency-Key": str(uuid.uuid4())}
        )
    return str(accepted(answer)["case_id"])
