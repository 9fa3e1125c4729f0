"""The audit part: ``cluetrail audit verify`` of the rebuild part's case topic (every chain followed, every
event's hash recomputed) against the raw aiokafka read of the same topic (baseline A)."""

from __future__ import annotations

import time

from bench.results import Figure, against
from cluetrail.settings import CommonSettings
from services.reporting.adapters.audit_shares import default_processes
from services.reporting.adapters.log import verify_topic
from services.reporting.domain.audit import AuditReport
from services.reporting.entrypoints.cli.common import progress_bar

PART = "audit"
TARGET = 100_000  # events/s


async def audit_rate(settings: CommonSettings) -> tuple[float, int]:
    """Events per second of ``cluetrail audit verify`` on the case topic, and how many it checked."""
    report = AuditReport()
    started = time.perf_counter()
    with progress_bar() as progress:
        await verify_topic(settings, report, progress, processes=default_processes())
    seconds = time.perf_counter() - started
    checked = report.verifier.events_checked
    assert not report.breaks and not report.unreadable, "the bench's chains are whole"
    return checked / seconds, checked


async def audit_figures(settings: CommonSettings, read: Figure) -> list[Figure]:
    """The audit of the topic the rebuild part loaded, against its raw read (A)."""
    rate, checked = await audit_rate(settings)
    verified = Figure(
        "audit.rate",
        "`cluetrail audit verify` of the case topic",
        rate,
        "events/s",
        PART,
        note=f"{checked:,} events, every hash recomputed and every link checked",
    )
    verified.target, verified.met = f"≥ {TARGET:,} events/s", rate >= TARGET
    return [against(verified, read)]
