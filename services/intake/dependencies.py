"""What intake's routes and subscribers are given: one frozen object, built once in ``bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends
from opentelemetry.trace import Tracer

from cluetrail.auth import AccessPolicy
from cluetrail.crypto import FieldSealer
from cluetrail.outbox import OutboxRelay
from cluetrail.service import dependency
from cluetrail.web import Csrf
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry
from services.intake.adapters.clues import ClueStore
from services.intake.settings import IntakeSettings


@dataclass(frozen=True)
class IntakeDeps:
    """Intake's wiring: its settings, pool and tracer, the jurisdiction tree and access rule, the sealer of
    reporter identity, the store of accepted clues and the relay that publishes them, and the CSRF tokens
    of its pages."""

    settings: IntakeSettings
    pool: asyncpg.Pool
    tracer: Tracer
    registry: JurisdictionRegistry
    regions: RegionRegistry
    access: AccessPolicy
    sealer: FieldSealer
    clues: ClueStore
    relay: OutboxRelay
    # Signs and checks the CSRF tokens of the public reporting page's forms.
    csrf: Csrf


Deps = Annotated[IntakeDeps, Depends(dependency(IntakeDeps))]
