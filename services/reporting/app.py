"""Wiring: the reporting service's FastAPI app, its projection consumer and its read API."""

from __future__ import annotations

from fastapi import FastAPI

from cluetrail.service import Runtime, create_service_app
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.adapters.sqlfiles import SQL_FOLDER
from services.reporting.adapters.versions import ensure_active_projection
from services.reporting.dashboard import dashboard_router
from services.reporting.handlers import http_router, kafka_routers
from services.reporting.settings import ReportingSettings


async def _ensure_projection(rt: Runtime) -> None:
    async with rt.pool.acquire() as conn:
        await ensure_active_projection(conn)


def create_app(settings: ReportingSettings) -> FastAPI:
    """The reporting service; a bad jurisdiction file stops it here with a message naming the entry."""
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    return create_service_app(
        name="reporting",
        settings=settings,
        title="cluetrail reporting",
        migrations=[SQL_FOLDER],
        http_routers=[http_router(registry), dashboard_router(registry)],
        kafka_routers=kafka_routers,
        on_startup=_ensure_projection,
    )
