"""Undeliverable notices end in the dead-letter record, raise an alert, and hold up no other recipient.

Through the real services: the 瑶海区 finance bureau's mail server refuses its address when a wealth-
management case in 大店社区 goes to the police; the police still get theirs, the dead letter names the
refusal, the district's duty office is alerted by webhook and mail, and a resend reaches the bureau once
its address works again. On the real database and broker with a deployment's own templates: a broken
closure template kills the closure notice, the escalation after it waits for it, and a resend writes it
again once the template is fixed. A mail whose stored body is damaged dies once, recorded, never a loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cluetrail.consume import decode_record
from cluetrail.db import open_pool
from cluetrail.settings import CommonSettings
from contracts.envelope import GENESIS_HASH, Actor, uuid7
from contracts.events import (
    CaseClosed,
    CaseEscalated,
    ClosedPayload,
    EscalatedPayload,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.notices import verify_notices
from contracts.vocabulary import EscalationTarget, Outcome
from services.notify.adapters import SQL
from services.notify.adapters.deliveries import (
    NewDelivery,
    add_delivery,
    find_deliveries,
    reopen_for_resend,
)
from services.notify.adapters.notifier import Notifier, RenderRefused
from services.notify.domain.notice import DEFAULT_TEMPLATES, Templates
from services.notify.domain.recipients import Recipient, RecipientBook, Route
from services.notify.domain.signing import secret_of
from services.notify.entrypoints.consumers import DecidingDeliveries
from tests.cases import (
    key_case_clue,
    report,
    transfer_to_police,
)
from tests.harness import Stack, WebhookRecorder, wait_until
from tests.integration.deliveries import (
    FINANCE_MAIL,
    deliveries,
    delivery_dead_letters,
    logged_notices,
    wait_for_key_case_notices,
)
from tests.integration.delivery_worker import running_worker
from tests.records import event_record

pytestmark = pytest.mark.integration

OPERATIONS_MAIL = "zhiban@yaohai.example.gov.cn"


def test_a_refused_address_is_dead_lettered_alerted_and_blocks_nobody_then_resent(
    stack: Stack, recorder: WebhookRecorder, stack_settings: CommonSettings
) -> None:
    case_id = report(stack, key_case_clue())
    wait_for_key_case_notices(stack, case_id)
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

    letter = wait_until(
        lambda: asyncio.run(delivery_dead_letters(stack_settings)).get(dead["delivery_id"]),
        timeout=60,
        what="the dead letter",
    )
    assert letter["recipient_id"] == "yaohai-finance-bureau" and "550" in letter["reason"]
    # The mail's acknowledgement link stays the bureau's: the dead letter withholds its token.
    sent = json.dumps(letter["delivery"]["body"], ensure_ascii=False)
    assert "token=(withheld)" in sent and not re.search(r"token=[0-9]+\.[0-9a-f]{32}", sent)

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
        lambda: (
            (found := [n for n in logged_notices(stack_settings) if n.get("case_id") == case_id])
            and "delivery-dead" in {n["kind"] for n in found}
            and found
        ),
        timeout=60,
        what="the alert notice on the notices topic",
    )
    # The case's notices: the reporter told of the transfer, the alert; one chain, its own order.
    assert sorted(n["kind"] for n in recorded) == ["delivery-dead", "reporter-update"]
    assert sorted(n["seq"] for n in recorded) == [1, 2]
    assert verify_notices(logged_notices(stack_settings)) == {}
    orders = {(r["origin"], r["event_type"]) for r in deliveries(stack, case_id)}
    assert ("notice", "delivery-dead") in orders and ("event", "escalated") in orders

    lead = stack.token("district_lead_officer", "340102", subject="officer-yaohai-1")
    with stack.client("notify", token=lead) as notify:
        assert notify.post(f"/v1/deliveries/{dead['delivery_id']}/resend").status_code == 202
        wait_until(
            lambda: notify.get(f"/v1/deliveries/{dead['delivery_id']}").json()["status"] == "delivered",
            timeout=60,
            what="the resent mail delivered",
        )
    resent = [m for m in stack.mail.to(FINANCE_MAIL) if m["X-Cluetrail-Delivery"] == dead["delivery_id"]]
    assert len(resent) == 1 and case_id in resent[0].get_content()


# --- a deployment's broken template, on the real database and broker, worker in process ---

SECRET = secret_of(b"demo-only-dead-letter-test-secret")
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
    opened = await open_pool(
        stack_settings.database_for(f"notifydead_{uuid.uuid4().hex[:6]}"), SQL.migrations
    )
    yield opened
    await opened.close()


async def test_a_broken_template_kills_its_notice_holds_the_next_and_a_resend_writes_it_again(
    stack_settings: CommonSettings,
    stack: Stack,
    recorder: WebhookRecorder,
    pool: asyncpg.Pool,
    broken_templates: Templates,
) -> None:
    """A deployment's closure template fails: the closure notice dies at once (alert to the duty office),
    the escalation after it waits for it (order per case), a resend is refused while the template still
    fails, and once it is fixed the resend writes the notice again and both arrive, closure first."""
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
    apply = DecidingDeliveries(notifier).apply
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
            await apply(conn, decode_record(event_record(event, offset=offset)))

    async def rows_now() -> dict[str, asyncpg.Record]:
        async with pool.acquire() as conn:
            found = await find_deliveries(conn, case_id=None, status=None, limit=50)
        return {r["event_type"]: r for r in found}

    async with running_worker(
        stack_settings, pool, book, client_id="notify-dead-letter-test", attempts=3, notifier=notifier
    ) as worker:

        async def alerted() -> dict[str, asyncpg.Record]:
            while True:
                rows = await rows_now()
                alert = rows.get("delivery-dead")
                if alert is not None and alert["status"] == "delivered":
                    return rows
                await asyncio.sleep(0.1)

        rows = await asyncio.wait_for(alerted(), timeout=60)
        dead, held = rows["closed"], rows["escalated"]
        assert dead["status"] == "dead" and "closed.j2" in dead["last_error"]
        assert "officer_phone" in dead["last_error"]
        # The escalation waits for the closure before it: never tried, not lost.
        assert held["status"] == "pending" and held["attempts"] == 0
        assert held["waiting_for"] == dead["delivery_id"]

        async with pool.acquire() as conn:
            with pytest.raises(RenderRefused, match="officer_phone"):
                await notifier.render_again(conn, dead)
        # The deployment fixes its template (and restarts notify with it).
        folder = broken_templates.directory
        shutil.copy(DEFAULT_TEMPLATES / "closed.j2", folder / "closed.j2")
        fixed = Notifier(book, default_registry(), Templates(folder), "http://127.0.0.1:1")
        async with pool.acquire() as conn, conn.transaction():
            body = await fixed.render_again(conn, dead)
            await reopen_for_resend(conn, dead["delivery_id"], body)
        worker.wake()

        async def settled() -> dict[str, asyncpg.Record]:
            while True:
                rows = await rows_now()
                if all(rows[k]["status"] == "delivered" for k in ("closed", "escalated")):
                    return rows
                await asyncio.sleep(0.1)

        rows = await asyncio.wait_for(settled(), timeout=60)

    lead_posts = [p.json() for p in list(recorder.received) if p.path == f"/lead-{tag}"]
    assert [p["event_type"] for p in lead_posts] == ["closed", "escalated"]
    assert lead_posts[0]["text"].startswith("【案件办结】") and lead_posts[0]["delivery_id"] == str(
        dead["delivery_id"]
    )
    duty = [p.json() for p in list(recorder.received) if p.path == f"/duty-{tag}"]
    assert len(duty) == 1 and "closed.j2" in duty[0]["facts"]["reason"]


async def test_a_mail_whose_stored_body_is_damaged_dies_once_and_holds_up_no_other_case(
    stack_settings: CommonSettings, stack: Stack, pool: asyncpg.Pool
) -> None:
    """A mail delivery whose stored body has no address (a damaged row) used to fail before its attempt
    was recorded: rolled back, claimed again every second, for ever. It is a recorded, final failure."""
    mailbox = f"chufeiban-{uuid.uuid4().hex[:6]}@yaohai.example.gov.cn"
    recipient = Recipient(
        id="mail-office",
        name="测试邮件处非办",
        role="lead_office",
        email=mailbox,
        secret=SECRET,
        jurisdiction="340102",
        routes=[Route(event="closed", channels=["email"])],
    )
    book = RecipientBook([recipient], default_registry())
    damaged, garbled, sound = uuid7(), uuid7(), uuid7()
    good_mail = {"to": mailbox, "subject": "【案件办结】", "text": "【案件办结】测试"}
    bodies = (
        (damaged, json.dumps({"event_id": str(uuid7())})),
        (garbled, "not json at all"),
        (sound, json.dumps(good_mail)),
    )
    async with pool.acquire() as conn:
        for delivery_id, body in bodies:
            await add_delivery(
                conn,
                NewDelivery(
                    delivery_id, uuid7(), "mail-office", uuid7(), 3, "closed", CASE, body, None, "email"
                ),
            )
    mail_port = stack.mail.port
    async with running_worker(
        stack_settings, pool, book, client_id="notify-damaged-mail-test", attempts=5, smtp_port=mail_port
    ):

        async def settled() -> dict[uuid.UUID, asyncpg.Record]:
            while True:
                async with pool.acquire() as conn:
                    rows = await conn.fetch(
                        "SELECT delivery_id, status, attempts, last_error, dead_letter_published_at "
                        "FROM deliveries"
                    )
                found = {r["delivery_id"]: r for r in rows}
                dead = [found[d] for d in (damaged, garbled)]
                if found[sound]["status"] == "delivered" and all(r["dead_letter_published_at"] for r in dead):
                    return found
                await asyncio.sleep(0.1)

        rows = await asyncio.wait_for(settled(), timeout=60)
    assert rows[damaged]["attempts"] == 1 and "has no to, subject, text" in rows[damaged]["last_error"]
    assert rows[garbled]["attempts"] == 1 and "not JSON" in rows[garbled]["last_error"]
    letters = await delivery_dead_letters(stack_settings)
    assert letters[str(garbled)]["delivery"]["body"] == "not json at all"  # kept as it was, as text
    assert len(stack.mail.to(mailbox)) == 1
