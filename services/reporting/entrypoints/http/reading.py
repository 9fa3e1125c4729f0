"""What the read routes share (no routes of its own): the reader every read needs (a user reads their own
subtree, auditors everything, police the cases transferred to them: ``cluetrail.auth.AccessPolicy``), the
query parameters naming an as-of projection or a live table, the refusals the routes document, and the
rule that a case outside the reader's scope answers like a missing one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Query

from cluetrail.auth import Principal, current_principal
from cluetrail.errors import InvalidInput, NotFound
from contracts.taxonomy import SectorCode
from services.reporting.adapters import reads
from services.reporting.dependencies import ReportingDeps
from services.reporting.domain.reports import readable

AsOf = Annotated[
    str | None,
    Query(description="Read an as-of projection instead of the live one: its schema name or its instant"),
]
Live = Annotated[
    bool,
    Query(description="Compute a submitted month afresh from the live projection instead of as submitted"),
]
Sector = Annotated[SectorCode | None, Query(description="A sector code of the taxonomy")]
Reader = Annotated[Principal, Depends(current_principal)]
# Refusals the routes document; their bodies are ProblemDetail (cluetrail.service.document_problems).
Responses = dict[int | str, dict[str, Any]]
UNAUTHENTICATED: Responses = {401: {"description": "No valid access token"}}
REFUSED: Responses = {
    403: {"description": "Outside your jurisdiction, or not for your role; says nothing more"}
}
UNKNOWN_CASE: Responses = {404: {"description": "No such case in your part of the ledger"}}


def aware(name: str, value: datetime | None) -> datetime | None:
    """``value`` when it carries a time zone (or is None); a 422 naming ``name`` when it does not."""
    if value is not None and value.tzinfo is None:
        raise InvalidInput(f"{name} must carry a time zone (ISO 8601 with offset)", rule="reporting.instant")
    return value


async def readable_case(
    conn: asyncpg.Connection, deps: ReportingDeps, principal: Principal, case_id: uuid.UUID, as_of: str | None
) -> dict[str, object]:
    """The case's ledger row, if ``principal`` may read it."""
    row = await reads.one_case(conn, case_id, as_of)
    # A case outside the reader's scope answers like a missing one: a refusal must not say it exists.
    if row is None or not readable(deps.access, principal, row):
        raise NotFound(f"case {case_id} is not in the ledger", rule="reporting.case")
    return row
