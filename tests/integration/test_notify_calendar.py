"""The reporting calendar and acknowledgement timing on a simulated clock, on the real database, webhook
receiver and SMTP server.

- 龙岗街道 sets its own calendar: its streets report a month by the 12th of the next one, not the 5th. Its
  office is reminded of March on 7 April (five days before the 12th), not on 31 March; reporting's
  deadline list gives it the same day, while 双桥镇 (寿县, default calendar) is overdue from 6 April.
- A key-case notice the police never acknowledge goes up a level 24 hours after its recorded delivery,
  however late the scheduler first looks and after a restart of the scheduler.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from faststream.kafka import KafkaBroker
from opentelemetry.sdk.trace import TracerProvider

from cluetrail.db import open_pool
from cluetrail.kafka import make_broker
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import default_registry
from contracts.reporting_calendar import ReportingCalendar
from services.notify.adapters import SQL
from services.notify.adapters.acknowledgements import acknowledge
from services.notify.adapters.cases import save_cases
from services.notify.adapters.channels import SmtpConfig
from services.notify.adapters.notifier import Notifier
from services.notify.domain.backoff import RetryPolicy
from services.notify.domain.notice import BEIJING, DEFAULT
from services.notify.domain.recipients import RecipientBook
from services.notify.domain.reminders import FixedClock
from services.notify.entrypoints.background.scheduler import Scheduler
from services.notify.entrypoints.background.worker import DeliveryWorker
from services.reporting.adapters.reports import build_table
from services.reporting.domain.periods import CST, Period, use_calendar
from services.reporting.domain.reports import ReportQuery, Scope
from tests.harness import Stack
from tests.integration.golden_reporting import drop_database, fresh_database
from tests.notify_facts import filed_key_case

pytestmark = pytest.mark.integration
WorkerParts = tuple[httpx.AsyncClient, TracerProvider, KafkaBroker]
REGISTRY = default_registry()
LONGGANG, SHUANGQIAO, ANHUI = "340102L01", "340422L01", "340000"


@pytest.fixture
async def pool(stack_settings: CommonSettings) -> AsyncIterator[asyncpg.Pool]:
    opened = await open_pool(stack_settings.database_for(f"notifycal_{uuid.uuid4().hex[:6]}"), SQL.migrations)
    yield opened
    await opened.close()


@pytest.fixture
def calendar(tmp_path: Path) -> ReportingCalendar:
    """The bundled calendar with 龙岗街道's own day for its streets, loaded from a deployment's file."""
    bundled = Path(__file__).parents[2] / "contracts" / "data" / "reporting-calendar.json"
    raw = json.loads(bundled.read_text(encoding="utf-8"))
    raw["overrides"] = [
        {
            "jurisdiction": LONGGANG,
            "levels": {"street": {"day": 12, "month": "following"}},
            "note": "龙岗街道：每月12日前报送上月台账",
        }
    ]
    path = tmp_path / "reporting-calendar.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return ReportingCalendar.load(path, REGISTRY)


def book_of(stack: Stack) -> RecipientBook:
    return RecipientBook.load(Path(stack.env["CLUETRAIL_NOTIFY_RECIPIENTS_FILE"]), REGISTRY)


async def deliver_all(worker: DeliveryWorker, pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """Send every ready delivery now (the worker stamps each on the simulated clock); the delivery rows."""
    while await worker.send_one():
        pass
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT delivery_id, recipient_id, channel, event_type, status, body, delivered_at "
            "FROM deliveries ORDER BY created_at, recipient_id, channel"
        )


@pytest.fixture
async def worker_parts(stack: Stack, stack_settings: CommonSettings) -> AsyncIterator[WorkerParts]:
    provider = TracerProvider()
    broker = make_broker(stack_settings, "notify-calendar-test", provider)
    await broker.start()
    async with httpx.AsyncClient(timeout=5) as client:
        yield client, provider, broker
    await broker.stop()


def make_worker(
    stack: Stack,
    settings: CommonSettings,
    pool: asyncpg.Pool,
    notifier: Notifier,
    clock: FixedClock,
    parts: WorkerParts,
) -> DeliveryWorker:
    client, provider, broker = parts
    return DeliveryWorker(
        pool=pool,
        broker=broker,
        settings=settings,
        book=notifier.book,
        policy=RetryPolicy(0.05, 0.2, 5),
        client=client,
        tracer=provider.get_tracer("test"),
        smtp=SmtpConfig("127.0.0.1", stack.mail.port, "notify@example.gov.cn"),
        notifier=notifier,
        clock=clock,
    )


async def test_an_office_with_its_own_calendar_is_reminded_and_listed_overdue_by_its_own_day(
    stack: Stack,
    stack_settings: CommonSettings,
    pool: asyncpg.Pool,
    calendar: ReportingCalendar,
    worker_parts: WorkerParts,
) -> None:
    notifier = Notifier(book_of(stack), REGISTRY, DEFAULT, "http://notify.example")
    clock = FixedClock(datetime(2026, 3, 31, 9, tzinfo=BEIJING))
    scheduler = Scheduler(pool=pool, notifier=notifier, clock=clock, calendar=calendar)
    worker = make_worker(stack, stack_settings, pool, notifier, clock, worker_parts)

    # On the bundled calendar 龙岗街道 would be reminded now, five days before 5 April; not on its own.
    assert await scheduler.tick() == 0
    clock.at = datetime(2026, 4, 6, 9, tzinfo=BEIJING)
    assert await scheduler.tick() == 0
    clock.at = datetime(2026, 4, 7, 9, tzinfo=BEIJING)
    assert await scheduler.tick() == 1
    assert await scheduler.tick() == 0
    rows = await deliver_all(worker, pool)
    assert {(r["recipient_id"], r["channel"], r["status"]) for r in rows} == {
        ("longgang-street-office", "webhook", "delivered"),
        ("longgang-street-office", "email", "delivered"),
    }
    async with pool.acquire() as conn:
        document = json.loads(bytes(await conn.fetchval("SELECT document FROM notices")))
    assert (document["facts"]["period"], document["facts"]["due_on"]) == ("2026-03", "2026-04-12")
    mails = [m for m in stack.mail.to("chufeiban@longgang.example.gov.cn") if "2026-04-12" in m.get_content()]
    assert len(mails) == 1 and "2026-03 月度台账和统计表应于 2026-04-12 前报送" in mails[0].get_content()

    # Reporting's deadline list reads the same calendar: the same day for 龙岗街道, the 5th elsewhere.
    dsn = await fresh_database()
    conn = await asyncpg.connect(dsn)
    use_calendar(calendar)
    try:

        async def deadlines(now: datetime) -> dict[str, dict[str, object]]:
            table = await build_table(
                conn, REGISTRY, ReportQuery("deadlines", Period(2026, 3)), Scope(ANHUI), now
            )
            return {str(r["jurisdiction"]): r for r in table.rows}

        rows_then = await deadlines(datetime(2026, 4, 12, 23, 59, tzinfo=CST))
        assert rows_then[LONGGANG]["due"] == document["facts"]["due_on"]
        assert rows_then[LONGGANG]["state"] == "待报送"
        assert (rows_then[SHUANGQIAO]["due"], rows_then[SHUANGQIAO]["state"]) == ("2026-04-05", "逾期未报")
        rows_after = await deadlines(datetime(2026, 4, 13, 0, 0, tzinfo=CST))
        assert rows_after[LONGGANG]["state"] == "逾期未报"
    finally:
        use_calendar(None)
        await conn.close()
        await drop_database(dsn)


async def test_an_unacknowledged_notice_goes_up_a_level_24_hours_after_its_recorded_delivery(
    stack: Stack,
    stack_settings: CommonSettings,
    pool: asyncpg.Pool,
    worker_parts: WorkerParts,
) -> None:
    notifier = Notifier(book_of(stack), REGISTRY, DEFAULT, "http://notify.example")
    delivered = datetime(2026, 3, 27, 9, tzinfo=BEIJING)
    clock = FixedClock(delivered)
    case = filed_key_case(last_seq=5)
    async with pool.acquire() as conn:
        await save_cases(conn, [case])

    def scheduler() -> Scheduler:
        """A scheduler as a (re)started service builds it: nothing carried over but the database."""
        return Scheduler(pool=pool, notifier=notifier, clock=clock, key_case_lead_days=14)

    # 27 March: the 2-year limit (10 April) is 14 days away; the reminder is sent at once.
    assert await scheduler().tick() == 1
    rows = await deliver_all(make_worker(stack, stack_settings, pool, notifier, clock, worker_parts), pool)
    assert {(r["recipient_id"], r["status"], r["delivered_at"]) for r in rows} == {
        ("yaohai-lead-office", "delivered", delivered),
        ("yaohai-police", "delivered", delivered),
    }
    async with pool.acquire() as conn:
        lead = next(r for r in rows if r["recipient_id"] == "yaohai-lead-office")
        await acknowledge(conn, lead["delivery_id"])

    # The scheduler was down until a minute before the timeout: its first look changes nothing...
    clock.at = delivered + timedelta(hours=23, minutes=59)
    assert await scheduler().tick() == 0
    # ...and a restarted scheduler takes the police's notice up exactly 24 hours after its delivery.
    clock.at = delivered + timedelta(hours=24)
    assert await scheduler().tick() == 1
    assert await scheduler().tick() == 0
    rows = await deliver_all(make_worker(stack, stack_settings, pool, notifier, clock, worker_parts), pool)
    escalations = [r for r in rows if r["event_type"] == "unacknowledged"]
    assert {(r["recipient_id"], r["channel"]) for r in escalations} == {
        ("yaohai-police", "webhook"),
        ("yaohai-lead-office", "webhook"),
        ("yaohai-lead-office", "email"),
    }
    told = json.loads(next(r["body"] for r in escalations if r["channel"] == "webhook"))
    assert told["case_id"] == str(case.case_id)
    async with pool.acquire() as conn:
        facts = json.loads(
            bytes(await conn.fetchval("SELECT document FROM notices WHERE kind = 'unacknowledged'"))
        )["facts"]
    assert datetime.fromisoformat(facts["original_delivered_at"]) == delivered
