"""What notify did with a case on the test stack: the deliveries its API lists, the POSTs the offices'
webhooks received and their signatures, the notices it wrote to its log.

Shared by the notify, intake and reporting integration tests; a test module never imports another test
module's helpers.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from cluetrail.kafka import notice_topic, read_log
from cluetrail.settings import CommonSettings
from tests.harness import ROOT, Recorded, Stack, WebhookRecorder, wait_until
from tests.integration.notify_log import signed_with

# Every recipient's signing secret, from the recipients file the test stack's notify reads.
SECRETS = {
    r["id"]: r["secret"]
    for r in json.loads((ROOT / "deploy" / "notify" / "recipients.json").read_text(encoding="utf-8"))[
        "recipients"
    ]
}
FINANCE_MAIL = "jinrong@yaohai.example.gov.cn"  # 瑶海区财政金融局, a mail recipient of police transfers


def auditor(stack: Stack) -> str:
    """A token of an auditor, who reads every delivery."""
    return stack.token("auditor", "340000", subject="notify-auditor")


def lead_officer(stack: Stack) -> str:
    """A token of Yaohai's district lead officer, who may resend the district's deliveries."""
    return stack.token("district_lead_officer", "340102", subject="officer-yaohai-1")


def deliveries(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    """The case's deliveries as notify's API lists them to an auditor."""
    with stack.client("notify", token=auditor(stack)) as notify:
        response = notify.get("/v1/deliveries", params={"case_id": case_id})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()
    return rows


def wait_for_key_case_notices(stack: Stack, case_id: str) -> None:
    """Until a key case's automatic escalation and its key-case flag are delivered to every recipient."""
    wait_until(
        lambda: (
            (rows := deliveries(stack, case_id))
            and {r["event_type"] for r in rows} >= {"escalated", "key-case-flagged"}
            and all(r["status"] == "delivered" for r in rows)
        ),
        timeout=90,
        what="the automatic escalation and the key-case flag delivered",
    )


def posts_for(recorder: WebhookRecorder, case_id: str) -> list[Recorded]:
    """Every POST the recorder answered 200 for this case, without any deduplication."""
    return [r for r in list(recorder.received) if r.json().get("case_id") == case_id]


def assert_signed_for(post: Recorded, recipient_id: str) -> None:
    """The signature verifies with this recipient's secret and with no other recipient's, and names the
    delivery (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature)."""
    for other, secret in SECRETS.items():
        assert signed_with(secret, post) == (other == recipient_id), other
    assert post.headers["webhook-id"] == post.json()["delivery_id"] == post.headers["X-Cluetrail-Delivery"]


async def delivery_dead_letters(settings: CommonSettings) -> dict[str, dict[str, Any]]:
    """notify's dead letters of deliveries on the dead-letter topic, by delivery id (the last one of each)."""
    letters: dict[str, dict[str, Any]] = {}
    async for records, _ in read_log(settings, settings.dead_letter_topic):
        for record in records:
            document = json.loads(record.value or b"{}")
            if document.get("kind") == "notify-delivery":
                letters[document["delivery"]["delivery_id"]] = document
    return letters


def logged_notices(settings: CommonSettings) -> list[dict[str, Any]]:
    """Every notice in notify's log (``<prefix>.notices``), in log order."""

    async def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for records, _ in read_log(settings, notice_topic(settings)):
            found.extend(json.loads(r.value or b"{}") for r in records)
        return found

    return asyncio.run(read())
