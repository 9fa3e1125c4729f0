"""Notify's wiring, done once: the jurisdiction tree, the reporting calendar, the recipients and the
templates (each validated before anything starts), the dependencies its routes, subscriber and background
loops are given, the app with its tables, routes, subscriber and loops."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from fastapi import FastAPI

from cluetrail.db import keep_session
from cluetrail.service import Runtime, create_service_app
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry
from contracts.reporting_calendar import ReportingCalendar
from services.notify.adapters import SQL
from services.notify.adapters.channels import SmsGateway, SmtpConfig
from services.notify.adapters.notifier import Notifier
from services.notify.dependencies import NotifyDeps, StartOfDelivery
from services.notify.domain.access import Readers
from services.notify.domain.backoff import RetryPolicy
from services.notify.domain.notice import DEFAULT as DEFAULT_TEMPLATES
from services.notify.domain.notice import Templates
from services.notify.domain.recipients import RecipientBook
from services.notify.domain.regions import Here
from services.notify.domain.reminders import SystemClock
from services.notify.entrypoints.background.scheduler import Scheduler
from services.notify.entrypoints.background.worker import DeliveryWorker
from services.notify.entrypoints.consumers import before_consuming, kafka_routers
from services.notify.entrypoints.http import ROUTERS
from services.notify.entrypoints.regions import CrossRegion
from services.notify.settings import NotifySettings


def load_recipients(
    settings: NotifySettings, registry: JurisdictionRegistry, here: Here | None = None
) -> RecipientBook:
    """The validated recipients (of region ``here``: those at places it serves); raises
    ``RecipientsError`` naming the bad entry."""
    book = RecipientBook.load(settings.recipients_file, registry)
    book.check_environment(settings.environment, str(settings.recipients_file))
    return book if here is None else book.of_region(here.regions, here.region)


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
    """The notify service; a bad jurisdiction, regions, calendar, recipients or templates file, or a region
    the regions file does not know, stops it here with a message naming the entry."""
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    regions = RegionRegistry.load(settings.regions_file, registry)
    here = Here(regions.get(settings.region).alias, regions)
    calendar = ReportingCalendar.load(settings.reporting_calendar_file, registry)
    book = load_recipients(settings, registry, here)
    templates = Templates(settings.templates_dir) if settings.templates_dir else DEFAULT_TEMPLATES
    templates.check()
    smtp, sms = channel_config(settings)
    notifier = Notifier(book, registry, templates, settings.base_url, timedelta(days=settings.ack_token_days))

    def wire(rt: Runtime) -> NotifyDeps:
        # One clock for both: deliveries are stamped on the clock the scheduler times acknowledgements by.
        clock = SystemClock(timedelta(seconds=settings.clock_offset_seconds))
        client = httpx.AsyncClient(timeout=settings.send_timeout_seconds, follow_redirects=False)
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
        return NotifyDeps(
            settings=settings,
            pool=rt.pool,
            tracer=rt.tracer,
            registry=registry,
            book=book,
            readers=Readers(registry, book),
            notifier=notifier,
            client=client,
            worker=worker,
            scheduler=scheduler,
            start=StartOfDelivery(),
            cross=CrossRegion(notifier, here),
        )

    async def start_loops(rt: Runtime) -> None:
        """Send, publish and remind from now on (the subscriber has joined its group)."""
        deps: NotifyDeps = rt.deps
        rt.tasks.append(asyncio.create_task(deps.worker.run(rt.stopping), name="notify-delivery-worker"))
        rt.tasks.append(asyncio.create_task(deps.scheduler.run(rt.stopping), name="notify-scheduler"))

    async def close_client(rt: Runtime) -> None:
        deps: NotifyDeps = rt.deps
        await deps.client.aclose()

    return create_service_app(
        name="notify",
        settings=settings,
        title="cluetrail notify",
        migrations=[SQL.migrations],
        http_routers=ROUTERS,
        dependencies=wire,
        kafka_routers=kafka_routers,
        before_consuming=before_consuming,
        on_startup=start_loops,
        on_shutdown=close_client,
        # notify's sessions set nothing, and its locks are its transactions'.
        pool_reset=keep_session,
    )
