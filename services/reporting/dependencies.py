"""What reporting's routes and subscribers are given: one frozen object, built once in ``bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
from fastapi import Depends
from faststream.kafka import KafkaBroker

from cluetrail.auth import AccessPolicy
from cluetrail.service import dependency
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting.adapters.builds import AsOfBuilds
from services.reporting.domain.handoffs import Regions
from services.reporting.settings import ReportingSettings


@dataclass(frozen=True)
class ReportingDeps:
    """Reporting's wiring: its settings, pool and broker (which publishes submitted months), the
    jurisdiction tree and access rule, this deployment's region among the regions (the side of a handoff
    between regions its ledger shows), and the as-of builds this process runs."""

    settings: ReportingSettings
    pool: asyncpg.Pool
    broker: KafkaBroker
    registry: JurisdictionRegistry
    access: AccessPolicy
    builds: AsOfBuilds
    regions: Regions


Deps = Annotated[ReportingDeps, Depends(dependency(ReportingDeps))]
