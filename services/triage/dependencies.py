"""What triage's routes and subscriber are given: one frozen object, built once in ``bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends
from opentelemetry.trace import Tracer

from cluetrail.auth import AccessPolicy
from cluetrail.crypto import FieldSealer, RegionSealer
from cluetrail.outbox import OutboxRelay
from cluetrail.service import dependency
from cluetrail.web import Csrf
from contracts.jurisdictions import JurisdictionRegistry
from services.triage.domain.grading import RuleSet
from services.triage.domain.workflow import WorkflowPolicy
from services.triage.entrypoints.consumers import CaseStream
from services.triage.settings import TriageSettings


@dataclass(frozen=True)
class TriageDeps:
    """Triage's wiring: its settings, pool and tracer; the grading rules, jurisdiction tree and workflow
    policy every decision is made under; the access rule; the sealer that opens reporter identity; the
    relay that publishes the outbox; and the case stream (the subscriber of group ``triage``, which
    ``bootstrap`` starts and catches up; routes decide with the fields above, never through it)."""

    settings: TriageSettings
    pool: asyncpg.Pool
    tracer: Tracer
    rules: RuleSet
    registry: JurisdictionRegistry
    policy: WorkflowPolicy
    access: AccessPolicy
    sealer: FieldSealer
    # Seals reporter identity for other regions and opens what they sealed for this one; None in a
    # deployment of one region.
    region_sealer: RegionSealer | None
    relay: OutboxRelay
    stream: CaseStream
    # Signs and checks the CSRF tokens of the officer's workspace's forms.
    csrf: Csrf


Deps = Annotated[TriageDeps, Depends(dependency(TriageDeps))]
