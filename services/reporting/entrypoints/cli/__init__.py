"""Reporting's operator commands, registered into ``cluetrail``: ``rebuild`` and ``as-of`` (``projections``),
``audit verify`` and ``log export`` (``log``), ``report export`` and ``report submit`` (``reports``), ``case
history`` and ``case check`` (``cases``)."""

from __future__ import annotations

import typer

from services.reporting.entrypoints.cli import cases, log, projections, reports


def register(app: typer.Typer) -> None:
    """Add reporting's commands to the ``cluetrail`` CLI."""
    projections.register(app)
    log.register(app)
    reports.register(app)
    cases.register(app)
