"""Reporting's wiring, done once: the jurisdiction tree and the reporting calendar (validated before anything
starts), the dependencies its routes and subscribers are given, the app with its tables, routes, dashboard
pages and projection consumers, and what runs beside them (the expiry of as-of projections, the
replacement of a live version an older release built)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI
from rich.console import Console
from rich.progress import Progress

from cluetrail.auth import AccessPolicy
from cluetrail.db import keep_session
from cluetrail.service import Runtime, create_service_app
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry
from contracts.reporting_calendar import ReportingCalendar
from services.reporting.adapters import SQL
from services.reporting.adapters.builds import AsOfBuilds
from services.reporting.adapters.rebuild import replace_outdated
from services.reporting.adapters.retention import expire_as_of_projections
from services.reporting.adapters.versions import ensure_active_projection
from services.reporting.dependencies import ReportingDeps
from services.reporting.domain.handoffs import Regions
from services.reporting.domain.periods import use_calendar
from services.reporting.entrypoints.consumers import kafka_routers
from services.reporting.entrypoints.http import ROUTERS
from services.reporting.entrypoints.http.pages import install_error_pages
from services.reporting.settings import ReportingSettings

log = logging.getLogger(__name__)


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


def create_app(settings: ReportingSettings) -> FastAPI:
    """The reporting service; a bad jurisdiction, calendar or regions file stops it here with a message
    naming the entry."""
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    use_calendar(ReportingCalendar.load(settings.reporting_calendar_file, registry))
    # A region the regions file does not know stops reporting here, named.
    regions = Regions.load(settings.region, RegionRegistry.load(settings.regions_file, registry))

    def wire(rt: Runtime) -> ReportingDeps:
        return ReportingDeps(
            settings=settings,
            pool=rt.pool,
            broker=rt.broker,
            registry=registry,
            access=AccessPolicy(registry),
            builds=AsOfBuilds(settings),
            regions=regions,
        )

    async def start(rt: Runtime) -> None:
        """Drop expired as-of projections now and every hour (in the background), then see to the live one."""
        expiry = expire_as_of_projections(rt.pool, settings.as_of_max_age_days, rt.stopping)
        rt.tasks.append(asyncio.create_task(expiry, name="expire-as-of"))
        await _ensure_projection(rt, settings)

    async def stop(rt: Runtime) -> None:
        """Stop the as-of builds still running: each closes its own session."""
        deps: ReportingDeps = rt.deps
        await deps.builds.stop()

    app = create_service_app(
        name="reporting",
        settings=settings,
        title="cluetrail reporting",
        migrations=[SQL.migrations],
        http_routers=ROUTERS,
        dependencies=wire,
        kafka_routers=kafka_routers,
        on_startup=start,
        on_shutdown=stop,
        # The pool's sessions set nothing, and take no lock past their transactions: a build holds its lock
        # on a session of its own (rebuild, builds), and retention drops a projection under a lock for the
        # transaction. No reset round trip on each release, one per consumer batch.
        pool_reset=keep_session,
    )
    install_error_pages(app)  # the dashboard's refusals as its own pages, in Chinese, status kept
    return app
