"""Intake's HTTP routes, one module per resource: ``clues`` (report a clue) and ``receipts`` (follow it)."""

from services.intake.entrypoints.http import clues, receipts

ROUTERS = [clues.router, receipts.router]
