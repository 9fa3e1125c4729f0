"""Intake's wiring, done once: the jurisdiction tree (validated before anything starts), the dependencies
its routes and subscribers are given, the app with its tables, routes and receipt projection."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from cluetrail.auth import AccessPolicy
from cluetrail.crypto import FieldSealer
from cluetrail.db import keep_session
from cluetrail.outbox import OutboxRelay
from cluetrail.service import Runtime, create_service_app
from cluetrail.web import Csrf
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry
from services.intake.adapters import SQL
from services.intake.adapters.clues import OUTBOX_TABLE, ClueStore
from services.intake.dependencies import IntakeDeps
from services.intake.entrypoints.consumers import kafka_routers
from services.intake.entrypoints.http import ROUTERS
from services.intake.settings import IntakeSettings


def create_app(settings: IntakeSettings) -> FastAPI:
    """The intake service; a bad jurisdiction file stops it here with a message naming the entry."""
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    regions = RegionRegistry.load(settings.regions_file, registry)
    regions.get(settings.region)  # a region the file does not know stops intake here, named
    sealer = FieldSealer.from_settings(settings.reporter_keys, settings.reporter_key_id)

    def wire(rt: Runtime) -> IntakeDeps:
        return IntakeDeps(
            settings=settings,
            pool=rt.pool,
            tracer=rt.tracer,
            registry=registry,
            regions=regions,
            access=AccessPolicy(registry),
            sealer=sealer,
            clues=ClueStore(rt.pool),
            # Each clue opens a case of its own, so every worker publishes its own requests' clues; a
            # clue no request waits for any more (answered pending) goes once it is older than the wait.
            relay=OutboxRelay(
                rt.pool,
                rt.settings,
                rt.tracer,
                table=OUTBOX_TABLE,
                each_process=True,
                left_behind_seconds=settings.publish_timeout_seconds + 1,
            ),
            csrf=Csrf(settings.auth_secret),
        )

    async def start_relay(rt: Runtime) -> None:
        """Publish accepted clues from now on; clues stored unpublished before a restart go too."""
        deps: IntakeDeps = rt.deps
        rt.tasks.append(asyncio.create_task(deps.relay.run(rt.stopping), name="intake-clue-relay"))

    return create_service_app(
        name="intake",
        settings=settings,
        title="cluetrail intake",
        migrations=[SQL.migrations],
        http_routers=ROUTERS,
        dependencies=wire,
        kafka_routers=kafka_routers,
        on_startup=start_relay,
        pool_reset=keep_session,  # intake's sessions keep no state
        # The public reporting form carries its evidence files (report_form_max_bytes), the API a clue.
        body_limits={"/report": settings.report_form_max_bytes},
    )
