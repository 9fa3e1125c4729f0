"""Wiring: triage's app, its consumer of the case log, the outbox relay and the officers' routes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from fastapi import FastAPI
from faststream.kafka import KafkaRouter

from cluetrail.outbox import OutboxRelay
from cluetrail.service import Runtime, create_service_app
from contracts.jurisdictions import JurisdictionRegistry
from services.triage.adapters import SQL
from services.triage.adapters.rules import quiet_periods_for, rule_set_for
from services.triage.domain.workflow import WorkflowPolicy
from services.triage.handlers import http, reads
from services.triage.handlers.consumer import CaseStream
from services.triage.settings import TriageSettings


def create_app(settings: TriageSettings) -> FastAPI:
    """Triage's FastAPI app; the rule set and jurisdiction tree are validated before anything starts."""
    rules = rule_set_for(settings)
    quiet_periods = quiet_periods_for(settings)
    registry = JurisdictionRegistry.load(settings.jurisdictions_file)

    def kafka_routers(rt: Runtime) -> Sequence[KafkaRouter]:
        relay = OutboxRelay(rt.pool, rt.broker, rt.settings, rt.tracer)
        policy = WorkflowPolicy(
            quiet_periods=quiet_periods,
            key_case_leader=settings.key_case_leader,
            region=settings.region,
        )
        stream = CaseStream(rt, rules, registry, relay, policy)
        rt.state[http.STREAM] = stream
        return [stream.router()]

    async def on_startup(rt: Runtime) -> None:
        stream: CaseStream = rt.state[http.STREAM]
        rt.tasks.append(asyncio.create_task(stream.relay.run(rt.stopping), name="triage-outbox-relay"))
        await stream.catch_up()

    return create_service_app(
        name="triage",
        settings=settings,
        title="cluetrail triage",
        migrations=[SQL.migrations],
        http_routers=[http.router, reads.router],
        kafka_routers=kafka_routers,
        on_startup=on_startup,
    )
