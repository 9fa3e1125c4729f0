"""One clue is one trace: intake's request span is the parent of the Kafka publish, and the services that
consume the clue continue the same trace."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def spans(stack: Stack, service: str) -> list[dict[str, Any]]:
    path = stack.spans_file(service)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_publish_and_the_consumers_are_in_the_request_trace(stack: Stack) -> None:
    clue = {
        "jurisdiction": "340102L01002",  # 合肥市瑶海区龙岗街道史城社区
        "source": "hotline_12345",
        "subject": {"kind": "shop", "name": f"史城生活超市（{uuid.uuid4().hex[:8]}）"},
        "description": "开展“消费返利”活动，充值一万元每月返现15%。",
        "behaviours": ["consumption_rebate"],
    }
    with stack.client("intake") as intake:
        response = intake.post("/v1/clues", json=clue)
    assert response.status_code == 202, response.text
    case_id = response.json()["case_id"]

    def accept_span() -> dict[str, Any] | None:
        return next(
            (
                s
                for s in spans(stack, "intake")
                if s["name"] == "intake accept clue" and s["attributes"].get("cluetrail.case_id") == case_id
            ),
            None,
        )

    accepted = wait_until(accept_span, timeout=30, what="intake's request span exported")
    trace_id, span_id = accepted["context"]["trace_id"], accepted["context"]["span_id"]

    publishes = wait_until(
        lambda: [
            s
            for s in spans(stack, "intake")
            if s["parent_id"] == span_id and s["kind"] == "SpanKind.PRODUCER"
        ],
        timeout=30,
        what="the publish span under the request span",
    )
    assert all(s["context"]["trace_id"] == trace_id for s in publishes)
    wait_until(
        lambda: any(s["context"]["trace_id"] == trace_id for s in spans(stack, "triage")),
        timeout=60,
        what="triage continuing the clue's trace",
    )
