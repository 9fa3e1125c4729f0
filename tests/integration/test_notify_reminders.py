"""Reminders on a simulated clock, on the real database, broker, webhook receiver and SMTP server: in
March 2026 大店社区 is reminded of its report due on the 20th, at the end of March 龙岗街道 of its report
due on 5 April and the district of a key case whose 2-year limit falls on 10 April; a day later the
police, who never acknowledged that reminder, are reminded and the district lead office is told. Through
the running service: a key-case escalation carries a signed acknowledgement link that works once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cluetrail.db import open_pool
from cluetrail.kafka import ensure_topics, notice_topic, read_log
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import default_registry
from contracts.notices import verify_notices
from services.notify.adapters import SQL
from services.notify.adapters.acknowledgements import acknowledge
from services.notify.adapters.cases import save_cases
from services.notify.adapters.notifier import Notifier
from services.notify.domain.notice import BEIJING, DEFAULT
from services.notify.domain.recipients import RecipientBook
from services.notify.domain.reminders import FixedClock
from services.notify.entrypoints.background.scheduler import Scheduler
from services.notify.settings import NotifySettings
from tests.cases import key_case_clue, report
from tests.harness import Stack, WebhookRecorder, wait_until
from tests.integration.deliveries import deliveries
from tests.integration.delivery_worker import running_worker
from tests.notify_facts import filed_key_case

pytestmark = pytest.mark.integration


@pytest.fixture
async def pool(stack_settings: CommonSettings) -> AsyncIterator[asyncpg.Pool]:
    opened = await open_pool(
        stack_settings.database_for(f"notifyclock_{uuid.uuid4().hex[:6]}"), SQL.migrations
    )
    yield opened
    await opened.close()


async def rows_of(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT delivery_id, recipient_id, channel, event_type, status, body, needs_ack, case_id "
            "FROM deliveries ORDER BY created_at, recipient_id, channel"
        )


async def all_sent(pool: asyncpg.Pool, count: int) -> list[asyncpg.Record]:
    while True:
        rows = await rows_of(pool)
        if len(rows) == count and all(r["status"] == "delivered" for r in rows):
            return rows
        await asyncio.sleep(0.1)


async def test_reminders_fire_on_a_simulated_clock_once_each_and_unacknowledged_ones_go_up_a_level(
    stack: Stack, stack_settings: CommonSettings, recorder: WebhookRecorder, pool: asyncpg.Pool
) -> None:
    # The scheduler here keeps its own notice chains: it gets topics of its own beside the stack's.
    settings = CommonSettings(
        **{**stack_settings.model_dump(), "topic_prefix": f"{stack_settings.topic_prefix}-clock"}
    )
    await ensure_topics(settings)
    registry = default_registry()
    book = RecipientBook.load(Path(stack.env["CLUETRAIL_NOTIFY_RECIPIENTS_FILE"]), registry)
    notifier = Notifier(book, registry, DEFAULT, "http://notify.example")
    clock = FixedClock(datetime(2026, 3, 16, 9, tzinfo=BEIJING))
    scheduler = Scheduler(
        pool=pool, notifier=notifier, clock=clock, key_case_lead_days=14, ack_timeout=timedelta(hours=24)
    )
    case = filed_key_case(last_seq=5)
    async with pool.acquire() as conn:
        await save_cases(conn, [case])

    async with running_worker(
        settings,
        pool,
        book,
        client_id="notify-clock-test",
        attempts=5,
        smtp_port=stack.mail.port,
        notifier=notifier,
        clock=clock,
    ):
        # 16 March: only the community's report (due on the 20th) is near.
        assert await scheduler.tick() == 1
        assert await scheduler.tick() == 0  # the same reminder is never recorded twice
        rows = await asyncio.wait_for(all_sent(pool, 1), timeout=30)
        assert [(r["recipient_id"], r["channel"]) for r in rows] == [("dadian-community-office", "email")]

        # 31 March: the street's report (5 April) and the key case's 2-year limit (10 April).
        clock.at = datetime(2026, 3, 31, 9, tzinfo=BEIJING)
        assert await scheduler.tick() == 2
        rows = await asyncio.wait_for(all_sent(pool, 6), timeout=30)
        key_case_rows = [r for r in rows if r["event_type"] == "key-case-deadline"]
        assert {(r["recipient_id"], r["channel"]) for r in key_case_rows} == {
            ("yaohai-lead-office", "webhook"),
            ("yaohai-lead-office", "email"),
            ("yaohai-police", "webhook"),
        }
        assert all(r["needs_ack"] and r["case_id"] == case.case_id for r in key_case_rows)

        # The lead office acknowledges (its link), the police do not.
        lead = next(r for r in key_case_rows if r["recipient_id"] == "yaohai-lead-office")
        async with pool.acquire() as conn:
            await acknowledge(conn, lead["delivery_id"])

        # The timeout counts from each notice's delivery, stamped on the clock the scheduler reads.
        assert await scheduler.tick() == 0
        clock.at += timedelta(hours=23)
        assert await scheduler.tick() == 0
        clock.at += timedelta(hours=2)
        assert await scheduler.tick() == 1
        assert await scheduler.tick() == 0
        rows = await asyncio.wait_for(all_sent(pool, 9), timeout=30)

    escalations = [r for r in rows if r["event_type"] == "unacknowledged"]
    assert {(r["recipient_id"], r["channel"]) for r in escalations} == {
        ("yaohai-police", "webhook"),  # the reminder to the police
        ("yaohai-lead-office", "webhook"),  # the next level told, and asked to acknowledge in turn
        ("yaohai-lead-office", "email"),
    }
    assert [r["needs_ack"] for r in escalations if r["recipient_id"] == "yaohai-lead-office"] == [True, True]
    told = json.loads(
        next(
            r["body"]
            for r in escalations
            if (r["recipient_id"], r["channel"]) == ("yaohai-lead-office", "webhook")
        )
    )
    assert told["text"].startswith("【未确认升级】合肥市公安局瑶海分局尚未确认") and "24 小时" in told["text"]
    assert "acknowledge_url" in told

    # What the offices received, over real HTTP and SMTP.
    def mails_to(address: str) -> list[Any]:
        marks = ("2026-03-20", "2026-04-05", str(case.case_id))
        return [m for m in stack.mail.to(address) if any(mark in m.get_content() for mark in marks)]

    assert len(mails_to("dadian@longgang.example.gov.cn")) == 1
    assert "【报送提醒】" in mails_to("dadian@longgang.example.gov.cn")[0]["Subject"]
    assert len(mails_to("chufeiban@longgang.example.gov.cn")) == 1
    police = [
        p.json()
        for p in list(recorder.received)
        if p.path == "/yaohai-police" and p.json().get("case_id") == str(case.case_id)
    ]
    assert [p["event_type"] for p in police] == ["key-case-deadline", "unacknowledged"]
    assert "2026-04-10" in police[0]["text"] and "审结并清退资金期限" in police[0]["text"]

    # Every reminder is on the notices topic, in a verifiable chain per stream.
    documents: list[dict[str, Any]] = []
    async for records, _ in read_log(settings, notice_topic(settings)):
        documents.extend(json.loads(r.value or b"{}") for r in records)
    assert sorted(d["kind"] for d in documents) == [
        "key-case-deadline",
        "reporting-deadline",
        "reporting-deadline",
        "unacknowledged",
    ]
    assert verify_notices(documents) == {}
    on_case = [d for d in documents if d["stream"] == str(case.case_id)]
    assert [(d["seq"], d["kind"]) for d in on_case] == [(1, "key-case-deadline"), (2, "unacknowledged")]


def test_a_key_case_escalation_is_acknowledged_only_by_posting_its_signed_link(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    """The link a recipient receives opens a confirmation page and acknowledges nothing (mail scanners
    open links); its form POSTs the acknowledgement. Readers of the log never see the token."""
    case_id = report(stack, key_case_clue())
    rows = wait_until(
        lambda: [
            r
            for r in deliveries(stack, case_id)
            if r["recipient_id"] == "yaohai-lead-office" and r["status"] == "delivered"
        ],
        timeout=90,
        what="the key-case escalation delivered",
    )
    delivery_id = rows[0]["delivery_id"]
    assert rows[0]["needs_ack"] and rows[0]["acknowledged_at"] is None
    received = next(p.json() for p in list(recorder.received) if p.json().get("delivery_id") == delivery_id)
    link = httpx.URL(received["acknowledge_url"])
    assert link.path == f"/v1/deliveries/{delivery_id}/ack"
    token = link.params["token"]

    auditor = stack.token("auditor", "340000", subject="notify-auditor")
    with stack.client("notify", token=auditor) as reader:
        detail = reader.get(f"/v1/deliveries/{delivery_id}").json()
    assert token not in detail["body"] and "(withheld)" in detail["body"]

    with httpx.Client(base_url=stack.url("notify"), timeout=30) as anyone:
        refused = anyone.get(link.path, params={"token": token[::-1]})
        assert refused.status_code == 403 and "token" in refused.json()["detail"]
        opened = anyone.get(link.path, params={"token": token})
        assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/html")
        assert "确认收到" in opened.text and 'method="post"' in opened.text and case_id in opened.text
        unchanged = next(r for r in deliveries(stack, case_id) if r["delivery_id"] == delivery_id)
        assert unchanged["acknowledged_at"] is None  # opening it changed nothing

        confirmed = anyone.post(link.path, data={"token": token})
        assert confirmed.status_code == 200 and "已于" in confirmed.text
        again = anyone.post(link.path, json={"token": token})
        assert again.status_code == 200
        acknowledged = next(r for r in deliveries(stack, case_id) if r["delivery_id"] == delivery_id)
        assert acknowledged["acknowledged_at"] is not None
        assert again.json()["acknowledged_at"].startswith(acknowledged["acknowledged_at"][:19])
        assert anyone.post(link.path, json={"token": ""}).status_code == 422
    assert NotifySettings().base_url.startswith("http://")
