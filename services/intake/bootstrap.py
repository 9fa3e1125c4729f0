"""Wiring: intake's FastAPI app with its tables, routes and receipt projection."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI

from cluetrail.service import create_service_app
from contracts.jurisdictions import JurisdictionRegistry
from services.intake import store
from services.intake.handlers import http_router, kafka_routers, start_relay
from services.intake.settings import IntakeSettings


def create_app(settings: IntakeSettings) -> FastAPI:
    """The intake service; a bad jurisdiction file stops it here with a message naming the entry."""
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    return create_service_app(
        name="intake",
        settings=settings,
        title="cluetrail intake",
        migrations=[resources.files("services.intake").joinpath("sql")],
        http_routers=[http_router(settings, registry)],
        kafka_routers=kafka_routers,
        on_startup=start_relay,
        pool_reset=store.reset_session,
    )
