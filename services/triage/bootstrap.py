"""Triage's wiring, done once: the rule set, write-off quiet periods and jurisdiction tree (validated before
anything starts), the dependencies its routes and subscriber are given, the app with its tables, routes,
case-log subscriber, outbox relay and anchorer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from cluetrail.auth import AccessPolicy
from cluetrail.crypto import FieldSealer
from cluetrail.db import keep_session
from cluetrail.outbox import OutboxRelay
from cluetrail.service import Runtime, create_service_app
from cluetrail.web import Csrf
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry
from services.triage.adapters import SQL, anchors
from services.triage.adapters.rules import quiet_periods_for, region_sealer_for, rule_set_for
from services.triage.dependencies import TriageDeps
from services.triage.domain.workflow import WorkflowPolicy
from services.triage.entrypoints.background.anchors import Anchorer
from services.triage.entrypoints.consumers import CaseStream
from services.triage.entrypoints.http import ROUTERS
from services.triage.entrypoints.regions import importers
from services.triage.settings import TriageSettings


def create_app(settings: TriageSettings) -> FastAPI:
    """Triage's FastAPI app; the rule set and jurisdiction tree are validated before anything starts."""
    rules = rule_set_for(settings)
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)
    regions = RegionRegistry.load(settings.regions_file, registry)
    policy = WorkflowPolicy(
        quiet_periods=quiet_periods_for(settings),
        key_case_leader=settings.key_case_leader,
        region=regions.get(settings.region).alias,
        regions=regions,
    )
    sealer = FieldSealer.from_settings(settings.reporter_keys, settings.reporter_key_id)
    region_sealer = region_sealer_for(settings, regions)

    def wire(rt: Runtime) -> TriageDeps:
        relay = OutboxRelay(rt.pool, rt.settings, rt.tracer)
        return TriageDeps(
            settings=settings,
            pool=rt.pool,
            tracer=rt.tracer,
            rules=rules,
            registry=registry,
            policy=policy,
            access=AccessPolicy(registry),
            sealer=sealer,
            region_sealer=region_sealer,
            relay=relay,
            stream=CaseStream(rt, rules, registry, relay, policy),
            csrf=Csrf(settings.auth_secret),
        )

    def kafka_routers(rt: Runtime) -> Sequence[KafkaRouter]:
        """The case log's subscriber, and one importer per other region (docs/regions.md)."""
        deps: TriageDeps = rt.deps
        return [deps.stream.router(), *(i.router() for i in importers(rt, deps.stream))]

    async def on_startup(rt: Runtime) -> None:
        """Publish the outbox and anchor chain heads from now on, then fold what the log holds before any
        reaction is decided."""
        deps: TriageDeps = rt.deps
        rt.tasks.append(asyncio.create_task(deps.relay.run(rt.stopping), name="triage-outbox-relay"))
        anchor_relay = OutboxRelay(rt.pool, rt.settings, rt.tracer, rows=anchors.outbox_rows(settings))
        anchorer = Anchorer(rt, anchor_relay, settings.anchor_seconds)
        rt.tasks.append(asyncio.create_task(anchor_relay.run(rt.stopping), name="triage-anchors-relay"))
        rt.tasks.append(asyncio.create_task(anchorer.run(rt.stopping), name="triage-anchorer"))
        await deps.stream.catch_up()

    return create_service_app(
        name="triage",
        settings=settings,
        title="cluetrail triage",
        migrations=[SQL.migrations],
        http_routers=ROUTERS,
        dependencies=wire,
        kafka_routers=kafka_routers,
        on_startup=on_startup,
        # Triage's session locks (the catch-up's, the outbox relay's) are released by whoever took them.
        pool_reset=keep_session,
    )
