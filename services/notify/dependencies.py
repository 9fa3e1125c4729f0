"""What notify's routes, subscriber and background loops are given: one frozen object, built once in
``bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
import httpx
from fastapi import Depends
from opentelemetry.trace import Tracer

from cluetrail.service import dependency
from contracts.jurisdictions import JurisdictionRegistry
from services.notify.adapters.notifier import Notifier
from services.notify.domain.access import Readers
from services.notify.domain.history import DeliveryStart
from services.notify.domain.recipients import RecipientBook
from services.notify.entrypoints.background.scheduler import Scheduler
from services.notify.entrypoints.background.worker import DeliveryWorker
from services.notify.entrypoints.regions import CrossRegion
from services.notify.settings import NotifySettings


@dataclass
class StartOfDelivery:
    """Where this database's deliveries begin: decided once the pool is open and before the subscriber
    joins its group (``entrypoints.consumers.before_consuming``), read by the subscriber for every event."""

    decided: DeliveryStart | None = None

    def __call__(self) -> DeliveryStart:
        if self.decided is None:
            raise RuntimeError("notify's start of delivery is read before it was decided")
        return self.decided


@dataclass(frozen=True)
class NotifyDeps:
    """Notify's wiring: its settings, pool and tracer, the jurisdiction tree, the recipients (of this
    region) and who reads what of the delivery log, the notifier that writes notices, the HTTP client of
    the webhooks, the delivery worker and the reminder scheduler, the start of delivery, and what crosses
    to and from the other regions."""

    settings: NotifySettings
    pool: asyncpg.Pool
    tracer: Tracer
    registry: JurisdictionRegistry
    book: RecipientBook
    readers: Readers
    notifier: Notifier
    client: httpx.AsyncClient
    worker: DeliveryWorker
    scheduler: Scheduler
    start: StartOfDelivery
    cross: CrossRegion


Deps = Annotated[NotifyDeps, Depends(dependency(NotifyDeps))]
