"""Wiring of the notify service: recipients validated at start-up, the subscriber, the worker, the API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI

from cluetrail.service import Runtime, create_service_app
from contracts.jurisdictions import JurisdictionRegistry
from contracts.reporting_calendar import ReportingCalendar
from services.notify.adapters import SQL
from services.notify.adapters.channels import SmsGateway, SmtpConfig
from services.notify.adapters.notifier import Notifier
from services.notify.domain.backoff import RetryPolicy
from services.notify.domain.notice import DEFAULT as DEFAULT_TEMPLATES
from services.notify.domain.notice import Templates
from services.notify.domain.recipients import RecipientBook
from services.notify.domain.reminders import SystemClock
from services.notify.handlers import CONSUMER_GROUP, START, kafka_routers
from services.notify.history import establish, recover_notices
from services.notify.http import http_router
from services.notify.scheduler import Scheduler
from services.notify.settings import NotifySettings
from services.notify.worker import DeliveryWorker


def load_recipients(settings: NotifySettings, registry: JurisdictionRegistry) -> RecipientBook:
    """The validated recipients; raises ``RecipientsError`` naming the bad entry."""
    book = RecipientBook.load(settings.recipients_file, registry)
    book.check_environment(settings.environment, str(settings.recipients_file))
    return book


def channel_config(settings: NotifySettings) -> tuple[SmtpConfig | None, SmsGateway | None]:
    """The SMTP relay and the SMS gateway the settings name (None when switched off)."""
    smtp = (
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password,
            start_tls=settings.smtp_start_tls,
            timeout=settings.send_timeout_seconds,
        )
        if settings.smtp_host
        else None
    )
    url = settings.sms_gateway_url
    sms = SmsGateway(url, settings.sms_gateway_secret) if url else None
    return smtp, sms


def create_app(settings: NotifySettings) -> FastAPI:
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    calendar = ReportingCalendar.load(settings.reporting_calendar_file, registry)
    book = load_recipients(settings, registry)
    templates = Templates(settings.templates_dir) if settings.templates_dir else DEFAULT_TEMPLATES
    templates.check()
    smtp, sms = channel_config(settings)

    notifier = Notifier(book, registry, templates, settings.base_url, timedelta(days=settings.ack_token_days))

    async def before_consuming(rt: Runtime) -> None:
        # Before the subscriber joins its group: a new database decides where its deliveries start (and
        # rewinds the group to fold the log), and every start reads back notices it does not hold.
        rt.state[START] = await establish(
            rt.pool, settings, CONSUMER_GROUP, settings.deliver_from, settings.deliver_after
        )
        await recover_notices(rt.pool, settings)

    async def start(rt: Runtime) -> None:
        rt.state["book"] = book
        rt.state["notifier"] = notifier
        # One clock for both: deliveries are stamped on the clock the scheduler times acknowledgements by.
        clock = SystemClock(timedelta(seconds=settings.clock_offset_seconds))
        client = httpx.AsyncClient(timeout=settings.send_timeout_seconds, follow_redirects=False)
        rt.state["http"] = client
        worker = DeliveryWorker(
            pool=rt.pool,
            broker=rt.broker,
            settings=settings,
            book=book,
            policy=RetryPolicy(
                settings.retry_base_seconds,
                settings.retry_max_seconds,
                settings.max_attempts,
                settings.retry_window_hours * 3600,
            ),
            client=client,
            tracer=rt.tracer,
            senders=settings.senders,
            poll_seconds=settings.poll_seconds,
            lease_seconds=settings.attempt_lease_seconds,
            smtp=smtp,
            sms=sms,
            notifier=notifier,
            clock=clock,
        )
        rt.state["worker"] = worker
        rt.tasks.append(asyncio.create_task(worker.run(rt.stopping), name="notify-delivery-worker"))
        scheduler = Scheduler(
            pool=rt.pool,
            notifier=notifier,
            clock=clock,
            reporting_lead_days=settings.reporting_lead_days,
            key_case_lead_days=settings.key_case_lead_days,
            ack_timeout=timedelta(hours=settings.ack_timeout_hours),
            poll_seconds=settings.scheduler_poll_seconds,
            on_recorded=worker.wake,
            calendar=calendar,
        )
        rt.state["scheduler"] = scheduler
        rt.tasks.append(asyncio.create_task(scheduler.run(rt.stopping), name="notify-scheduler"))

    async def stop(rt: Runtime) -> None:
        client: httpx.AsyncClient | None = rt.state.get("http")
        if client is not None:
            await client.aclose()

    return create_service_app(
        name="notify",
        settings=settings,
        title="cluetrail notify",
        migrations=[SQL.migrations],
        http_routers=[http_router(notifier, registry)],
        kafka_routers=kafka_routers(notifier),
        before_consuming=before_consuming,
        on_startup=start,
        on_shutdown=stop,
    )
