"""Wiring: the reporting service's FastAPI app, its projection consumer and its read API."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from rich.console import Console
from rich.progress import Progress

from cluetrail.service import Runtime, create_service_app
from contracts.jurisdictions import JurisdictionRegistry
from contracts.reporting_calendar import ReportingCalendar
from services.reporting.adapters.sqlfiles import SQL_FOLDER
from services.reporting.adapters.versions import ensure_active_projection
from services.reporting.asof import expire_as_of_projections, projections_router
from services.reporting.dashboard import dashboard_router
from services.reporting.domain.periods import use_calendar
from services.reporting.handlers import http_router, kafka_routers
from services.reporting.pages import install_error_pages
from services.reporting.rebuild import replace_outdated
from services.reporting.settings import ReportingSettings


async def _start(rt: Runtime, settings: ReportingSettings) -> None:
    """Drop expired as-of projections now and every hour (in the background), then see to the live one."""
    rt.tasks.append(asyncio.create_task(expire_as_of_projections(rt, settings), name="expire-as-of"))
    await _ensure_projection(rt, settings)


async def _ensure_projection(rt: Runtime, settings: ReportingSettings) -> None:
    """Create version 1 on a new database; replace a version an older release built, in the background."""
    async with rt.pool.acquire() as conn:
        outdated = await ensure_active_projection(conn)
    if outdated is None:
        return
    log.warning("%s was built by an older release: rebuilding beside it; the consumer waits", outdated)

    async def replace() -> None:
        with Progress(console=Console(stderr=True), disable=True) as progress:
            # Queued behind an operator's rebuild, if one is running: it may replace the version itself.
            summary = await replace_outdated(settings, progress)
        if summary is None:
            log.info("%s was replaced by a rebuild that was running", outdated)
        else:
            log.info("rebuilt the projections as %s (%s events)", summary.schema, summary.applied)

    rt.tasks.append(asyncio.create_task(replace(), name="replace-outdated-projection"))


log = logging.getLogger(__name__)


def create_app(settings: ReportingSettings) -> FastAPI:
    """The reporting service; a bad jurisdiction or calendar file stops it here with a message naming
    the entry."""
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    use_calendar(ReportingCalendar.load(settings.reporting_calendar_file, registry))
    app = create_service_app(
        name="reporting",
        settings=settings,
        title="cluetrail reporting",
        migrations=[SQL_FOLDER],
        http_routers=[http_router(registry), projections_router(settings), dashboard_router(registry)],
        kafka_routers=kafka_routers,
        on_startup=lambda rt: _start(rt, settings),
    )
    install_error_pages(app)  # the dashboard's refusals as its own pages, in Chinese, status kept
    return app
