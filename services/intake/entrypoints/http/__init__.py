"""Intake's HTTP routes, one module per resource: ``clues`` (report a clue), ``receipts`` (follow it) and
``public`` (the public reporting and follow-up pages, with ``templates/``)."""

from services.intake.entrypoints.http import clues, public, receipts

ROUTERS = [clues.router, receipts.router, public.router]
