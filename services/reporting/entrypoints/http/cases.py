"""``/v1/cases``: the dynamic management ledger (动态管理台账) and each case in it — its row, its full ledger
columns, its history as the projection applied it, and its events as written on the case log. Every request
reads the active version, or the as-of projection it names."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from cluetrail.service import Connection
from contracts.api import HistoryEntry, LedgerPage, LedgerRow
from contracts.vocabulary import CaseStatus, Grade
from services.reporting.adapters import reads
from services.reporting.adapters.log import LogUnreadable, read_documents
from services.reporting.dependencies import Deps, ReportingDeps
from services.reporting.domain.reports import scope_for, subtree
from services.reporting.domain.tables import ledger_table
from services.reporting.entrypoints.http.reading import (
    REFUSED,
    UNAUTHENTICATED,
    UNKNOWN_CASE,
    AsOf,
    Reader,
    Sector,
    aware,
    readable_case,
)

MAX_PAGE = 500
# PostgreSQL's OFFSET is a bigint: a larger offset is refused with 422, not failed in the driver.
MAX_OFFSET = 2**63 - 1

router = APIRouter(prefix="/v1", tags=["reporting"])


@router.get("/cases", response_model=LedgerPage, responses={**UNAUTHENTICATED, **REFUSED})
async def list_cases(
    conn: Connection,
    principal: Reader,
    deps: Deps,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    jurisdiction: Annotated[str | None, Query(description="The node and its whole subtree")] = None,
    status: CaseStatus | None = None,
    grade: Grade | None = None,
    key_case: bool | None = None,
    sector: Sector = None,
    reported_from: datetime | None = None,
    reported_to: datetime | None = None,
    as_of: AsOf = None,
) -> LedgerPage:
    """The dynamic management ledger (动态管理台账), newest report first."""
    scope = scope_for(deps.access, deps.registry, principal, jurisdiction)
    # An auditor who names no jurisdiction reads the whole ledger, every tree included.
    where = reads.LedgerFilter(
        jurisdictions=None if scope.everything else subtree(deps.registry, scope.root),
        status=status.value if status else None,
        grade=grade.value if grade else None,
        key_case=key_case,
        sector=sector,
        reported_from=aware("reported_from", reported_from),
        reported_to=aware("reported_to", reported_to),
        transferred_to_police=True if scope.police_only else None,
        # A case handed from the subtree to another region stays in its ledger, shown handed out.
        handed_out=None if scope.police_only else True,
    )
    rows, total = await reads.ledger_page(conn, where, offset, limit, as_of)
    return LedgerPage(items=[ledger_row(deps, r) for r in rows], total=total, offset=offset, limit=limit)


@router.get("/cases/{case_id}", response_model=LedgerRow, responses={**UNAUTHENTICATED, **UNKNOWN_CASE})
async def get_case(
    case_id: uuid.UUID, conn: Connection, principal: Reader, deps: Deps, as_of: AsOf = None
) -> LedgerRow:
    """The case's ledger row, with its handoff between regions as this region reads it."""
    return ledger_row(deps, await readable_case(conn, deps, principal, case_id, as_of))


def ledger_row(deps: ReportingDeps, row: dict[str, object]) -> LedgerRow:
    """A ledger row as the API serves it: a handoff between regions read from this region's side."""
    return LedgerRow.model_validate({**row, **deps.regions.columns(row)})


@router.get("/cases/{case_id}/ledger", responses={**UNAUTHENTICATED, **UNKNOWN_CASE})
async def get_case_columns(
    case_id: uuid.UUID, conn: Connection, principal: Reader, deps: Deps, as_of: AsOf = None
) -> dict[str, Any]:
    """The case's full ledger row, with the columns the annex tables use (docs/reporting.md)."""
    row = await readable_case(conn, deps, principal, case_id, as_of)
    return ledger_table("ledger", [row], deps.registry, deps.regions).rows[0]


@router.get(
    "/cases/{case_id}/history",
    response_model=list[HistoryEntry],
    responses={**UNAUTHENTICATED, **UNKNOWN_CASE},
)
async def get_history(
    case_id: uuid.UUID, conn: Connection, principal: Reader, deps: Deps, as_of: AsOf = None
) -> list[HistoryEntry]:
    """Every applied event of the case in seq order, with its hashes, for an auditor."""
    await readable_case(conn, deps, principal, case_id, as_of)
    entries = await reads.case_history(conn, case_id, as_of)
    return [HistoryEntry.model_validate(e) for e in entries]


@router.get(
    "/cases/{case_id}/events",
    responses={
        **UNAUTHENTICATED,
        **UNKNOWN_CASE,
        502: {"description": "The case log does not give back an event where it was recorded"},
    },
)
async def get_events(
    case_id: uuid.UUID, conn: Connection, principal: Reader, deps: Deps, as_of: AsOf = None
) -> list[dict[str, Any]]:
    """Every applied event of the case in seq order as written on the case log (the whole envelope,
    never upcast), read from the log where the projection recorded it: each hash can be recomputed
    from its own document (contracts.envelope.compute_hash)."""
    await readable_case(conn, deps, principal, case_id, as_of)
    positions = await reads.case_positions(conn, case_id, as_of)
    documents = await read_documents(
        deps.settings, [(int(str(p["kafka_partition"])), int(str(p["kafka_offset"]))) for p in positions]
    )
    for place, document in zip(positions, documents, strict=True):
        if document.get("event_id") != str(place["event_id"]):
            raise LogUnreadable(
                f"the case log holds event {document.get('event_id')} at partition "
                f"{place['kafka_partition']} offset {place['kafka_offset']}, where seq {place['seq']} "
                f"({place['event_id']}) was recorded",
                rule="reporting.log",
            )
    return documents
