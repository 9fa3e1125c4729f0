"""Undeliverable notices end in the dead-letter record, raise an alert, and hold up nobody else.

Through the real services: the 瑶海区 finance bureau's mail server refuses its address when a wealth-
management case in 大店社区 goes to the police; the police still get theirs, the dead letter names the
refusal, the district's duty office is alerted by webhook and mail, and a resend reaches the bureau once
its address works again. On the real database and broker with a deployment's own templates: a broken
closure template kills the closure notices only, the escalation after it still arrives.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.structs import ConsumerRecord
from opentelemetry.sdk.trace import TracerProvider

from cluetrail.consume import decode_record
from cluetrail.db import open_pool
from cluetrail.kafka import make_broker, notice_topic, read_log
from cluetrail.settings import CommonSettings
from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    CaseClosed,
    CaseEscalated,
    ClosedPayload,
    EscalatedPayload,
    event_bytes,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.notices import verify_notices
from contracts.vocabulary import EscalationTarget, Outcome
from services.notify.app import MIGRATIONS
from services.notify.domain.backoff import RetryPolicy
from services.notify.domain.notice import DEFAULT_TEMPLATES, Templates
from services.notify.domain.recipients import Recipient, RecipientBook, Route
from services.notify.handlers import deciding_deliveries
from services.notify.notices import Notifier
from services.notify.worker import DeliveryWorker
from tests.harness import Stack, WebhookRecorder, wait_until
from tests.integration.test_notify_channels import FINANCE_MAIL, transfer_to_police
from tests.integration.test_notify_deliveries import deliveries, key_case_clue, report

pytestmark = pytest.mark.integration

OPERATIONS_MAIL = "zhiban@yaohai.example.gov.cn"


def dead_letters(settings: CommonSettings) -> dict[str, dict[str, Any]]:
    async def read() -> dict[str, dict[str, Any]]:
        letters: dict[str, dict[str, Any]] = {}
        async for records, _ in read_log(settings, settings.dead_letter_topic):
            for record in records:
                document = json.loads(record.value or b"{}")
                if document.get("kind") == "notify-delivery":
                    letters[document["delivery"]["delivery_id"]] = document
        return letters

    return asyncio.run(read())


def notices(settings: CommonSettings) -> list[dict[str, Any]]:
    async def read() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async for records, _ in read_log(settings, notice_topic(settings)):
            found.extend(json.loads(r.value or b"{}") for r in records)
        return found

    return asyncio.run(read())


def test_a_refused_address_is_dead_lettered_alerted_and_blocks_nobody_then_resent(
    stack: Stack, recorder: WebhookRecorder, stack_settings: CommonSettings
) -> None:
    case_id = report(stack, key_case_clue())
    wait_until(
        lambda: (
            (rows := deliveries(stack, case_id))
            and {r["event_type"] for r in rows} >= {"escalated", "key-case-flagged"}
            and all(r["status"] == "delivered" for r in rows)
        ),
        timeout=90,
        what="the automatic escalation and the key-case flag delivered",
    )
    stack.mail.refused.add(FINANCE_MAIL)
    try:
        seq = transfer_to_police(stack, case_id)

        def settled() -> list[dict[str, Any]] | None:
            rows = [r for r in deliveries(stack, case_id) if r["seq"] == seq]
            states = {(r["recipient_id"], r["channel"]): r["status"] for r in rows}
            wanted = {
                ("yaohai-police", "webhook"): "delivered",
                ("yaohai-police", "sms"): "delivered",
                ("yaohai-finance-bureau", "email"): "dead",
            }
            return rows if all(states.get(k) == v for k, v in wanted.items()) else None

        rows = wait_until(settled, timeout=90, what="police delivered, the bureau's mail dead")
    finally:
        stack.mail.refused.discard(FINANCE_MAIL)
    dead = next(r for r in rows if r["channel"] == "email")
    # A refusal for good is not retried.
    assert dead["attempts"] == 1 and "SMTP refused" in dead["last_error"]

    letters = wait_until(
        lambda: (found := dead_letters(stack_settings)).get(dead["delivery_id"]) and found,
        timeout=60,
        what="the dead letter",
    )
    letter = letters[dead["delivery_id"]]
    assert letter["recipient_id"] == "yaohai-finance-bureau" and "550" in letter["reason"]

    def alerted() -> list[dict[str, Any]] | None:
        alerts = [r for r in deliveries(stack, case_id) if r["event_type"] == "delivery-dead"]
        return alerts if len(alerts) == 2 and all(a["status"] == "delivered" for a in alerts) else None

    alerts = wait_until(alerted, timeout=60, what="the alert to the duty office")
    assert {(a["recipient_id"], a["channel"]) for a in alerts} == {
        ("yaohai-operations", "webhook"),
        ("yaohai-operations", "email"),
    }
    posted = [p.json() for p in list(recorder.received) if p.path == "/yaohai-operations"]
    alert = next(p for p in posted if p["facts"]["failed_delivery_id"] == dead["delivery_id"])
    assert alert["text"].startswith("【投递失败告警】") and "瑶海区财政金融局" in alert["text"]
    mail = wait_until(
        lambda: [m for m in stack.mail.to(OPERATIONS_MAIL) if dead["delivery_id"] in m.get_content()],
        timeout=30,
        what="the alert mail",
    )
    assert len(mail) == 1

    recorded = wait_until(
        lambda: [n for n in notices(stack_settings) if n.get("case_id") == case_id] or None,
        timeout=60,
        what="the alert notice on the notices topic",
    )
    assert [n["kind"] for n in recorded] == ["delivery-dead"]
    assert verify_notices(notices(stack_settings)) == {}

    with stack.client("notify") as notify:
        assert notify.post(f"/v1/deliveries/{dead['delivery_id']}/resend").status_code == 202
        wait_until(
            lambda: notify.get(f"/v1/deliveries/{dead['delivery_id']}").json()["status"] == "delivered",
            timeout=60,
            what="the resent mail delivered",
        )
    resent = [m for m in stack.mail.to(FINANCE_MAIL) if m["X-Cluetrail-Delivery"] == dead["delivery_id"]]
    assert len(resent) == 1 and case_id in resent[0].get_content()


# --- a deployment's broken template, on the real database and broker, worker in process ---

SECRET = "demo-only-dead-letter-test-secret"
CASE = "340102L01003"


def office(rid: str, url: str, *routes: Route) -> Recipient:
    return Recipient(
        id=rid,
        name=f"测试{rid}",
        role="operations" if rid == "duty-office" else "lead_office",
        webhook_url=url,  # type: ignore[arg-type]
        secret=SECRET,
        jurisdiction="340102",
        routes=list(routes),
    )


@pytest.fixture
def broken_templates(tmp_path: Path) -> Iterator[Templates]:
    folder = tmp_path / "templates"
    shutil.copytree(DEFAULT_TEMPLATES, folder)
    # Renders only with a fact no closure has: every closure notice fails, the template loads fine.
    (folder / "closed.j2").write_text("【案件办结】{{ head }}{{ officer_phone }}", encoding="utf-8")
    templates = Templates(folder)
    templates.check()
    yield templates


@pytest.fixture
async def pool(stack_settings: CommonSettings) -> AsyncIterator[asyncpg.Pool]:
    opened = await open_pool(stack_settings.database_for(f"notifydead_{uuid.uuid4().hex[:6]}"), MIGRATIONS)
    yield opened
    await opened.close()


def record_of(event: Envelope, offset: int) -> ConsumerRecord[bytes, bytes]:
    value = event_bytes(event)
    key = str(event.case_id).encode()
    return ConsumerRecord("case-events", 0, offset, 0, 0, key, value, None, len(key), len(value), [])


async def test_a_broken_template_kills_its_notices_only_and_the_next_event_still_arrives(
    stack_settings: CommonSettings,
    stack: Stack,
    recorder: WebhookRecorder,
    pool: asyncpg.Pool,
    broken_templates: Templates,
) -> None:
    tag = uuid.uuid4().hex[:6]
    book = RecipientBook(
        [
            office(
                f"lead-{tag}", recorder.url(f"/lead-{tag}"), Route(event="closed"), Route(event="escalated")
            ),
            office("duty-office", recorder.url(f"/duty-{tag}"), Route(event="delivery-dead")),
        ],
        default_registry(),
    )
    notifier = Notifier(book, default_registry(), broken_templates, "http://127.0.0.1:1")
    apply = deciding_deliveries(notifier)
    case_id = uuid7()
    closed = seal_event(
        CaseClosed,
        case_id=case_id,
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=CASE,
        actor=Actor(kind="officer", id="officer-1"),
        payload=ClosedPayload(outcome=Outcome.RECTIFIED, summary="已整改"),
        correlation_id=uuid.uuid4(),
    )
    escalated = seal_event(
        CaseEscalated,
        case_id=case_id,
        seq=2,
        prev_hash=closed.hash,
        jurisdiction=CASE,
        actor=Actor(kind="officer", id="officer-1"),
        payload=EscalatedPayload(
            target=EscalationTarget.LEAD_OFFICE, target_jurisdiction="340102", reason="回头看"
        ),
        correlation_id=uuid.uuid4(),
    )
    async with pool.acquire() as conn, conn.transaction():
        for offset, event in enumerate((closed, escalated)):
            await apply(conn, decode_record(record_of(event, offset)))

    provider = TracerProvider()
    broker = make_broker(stack_settings, "notify-dead-letter-test", provider)
    await broker.start()
    stopping = asyncio.Event()
    async with httpx.AsyncClient(timeout=5) as client:
        worker = DeliveryWorker(
            pool=pool,
            broker=broker,
            settings=stack_settings,
            book=book,
            policy=RetryPolicy(0.05, 0.2, 3),
            client=client,
            tracer=provider.get_tracer("test"),
            poll_seconds=0.2,
            notifier=notifier,
        )
        running = asyncio.create_task(worker.run(stopping))
        try:

            async def settled() -> list[asyncpg.Record]:
                while True:
                    async with pool.acquire() as conn:
                        rows = await conn.fetch(
                            "SELECT recipient_id, event_type, status, last_error, dead_letter_published_at "
                            "FROM deliveries ORDER BY seq, event_type"
                        )
                    finished = all(r["status"] == "delivered" or r["dead_letter_published_at"] for r in rows)
                    alert_sent = any(
                        r["event_type"] == "delivery-dead" and r["status"] == "delivered" for r in rows
                    )
                    if len(rows) == 3 and finished and alert_sent:
                        return rows
                    await asyncio.sleep(0.1)

            rows = await asyncio.wait_for(settled(), timeout=60)
        finally:
            stopping.set()
            await running
            await broker.stop()

    by_type = {r["event_type"]: r for r in rows}
    assert by_type["closed"]["status"] == "dead" and "closed.j2" in by_type["closed"]["last_error"]
    assert "officer_phone" in by_type["closed"]["last_error"]
    assert by_type["escalated"]["status"] == "delivered"
    assert by_type["delivery-dead"]["recipient_id"] == "duty-office"
    lead_posts = [p.json() for p in list(recorder.received) if p.path == f"/lead-{tag}"]
    assert [p["event_type"] for p in lead_posts] == ["escalated"]
    duty = [p.json() for p in list(recorder.received) if p.path == f"/duty-{tag}"]
    assert len(duty) == 1 and "closed.j2" in duty[0]["facts"]["reason"]
