"""Reporting's handlers: the live case-event subscriber feeding the active projection, and the read API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
from fastapi import APIRouter, Depends, Query
from faststream.kafka import KafkaRouter

from cluetrail.consume import Incoming, Rejected
from cluetrail.errors import InvalidInput, NotFound
from cluetrail.service import Runtime, case_events_router, connection, exactly_once_consumer
from contracts.api import HistoryEntry, LedgerPage, LedgerRow
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import CaseStatus, Grade
from services.reporting.adapters import reads
from services.reporting.adapters.projector import apply_events
from services.reporting.adapters.versions import use_active_projection

CONSUMER_GROUP = "reporting"
MAX_PAGE = 500


async def apply_one(conn: asyncpg.Connection, incoming: Incoming) -> None:
    """Apply one live event to the active version; an event off its case's chain is dead-lettered."""
    result = await apply_events(conn, [incoming])
    if result.rejected:
        raise Rejected(result.rejected[0][1])


async def aim_at_active_projection(conn: asyncpg.Connection) -> None:
    """The consumer's prepare hook: lock, then point this batch at the active version."""
    await use_active_projection(conn)


def kafka_routers(rt: Runtime) -> list[KafkaRouter]:
    """The live consumer: group "reporting", positions kept inside the active projection version."""
    consumer = exactly_once_consumer(
        rt,
        CONSUMER_GROUP,
        apply_one,
        # Unqualified: resolved through the search_path that prepare aims at the active version.
        positions_table="consumer_positions",
        prepare=aim_at_active_projection,
    )
    rt.state["consumer"] = consumer
    return [case_events_router(rt, consumer)]


AsOf = Annotated[
    str | None,
    Query(description="Read an as-of projection instead of the live one: its schema name or its instant"),
]


def http_router(registry: JurisdictionRegistry) -> APIRouter:
    """The ledger API; every request reads the active version (or the as-of projection it names)."""
    router = APIRouter(prefix="/v1", tags=["reporting"])

    def subtree(code: str) -> list[str]:
        if code not in registry:
            raise InvalidInput(
                f"jurisdiction {code} is not in the jurisdiction tree", rule="reporting.jurisdiction"
            )
        return [node.code for node in registry.all() if registry.is_within(node.code, code)]

    def aware(name: str, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"{name} must carry a time zone (ISO 8601 with offset)", rule="reporting.instant"
            )
        return value

    @router.get("/cases", response_model=LedgerPage)
    async def list_cases(
        conn: Annotated[asyncpg.Connection, Depends(connection)],
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        jurisdiction: Annotated[str | None, Query(description="The node and its whole subtree")] = None,
        status: CaseStatus | None = None,
        grade: Grade | None = None,
        key_case: bool | None = None,
        sector: str | None = None,
        reported_from: datetime | None = None,
        reported_to: datetime | None = None,
        as_of: AsOf = None,
    ) -> LedgerPage:
        """The dynamic management ledger (动态管理台账), newest report first."""
        where = reads.LedgerFilter(
            jurisdictions=subtree(jurisdiction) if jurisdiction is not None else None,
            status=status.value if status else None,
            grade=grade.value if grade else None,
            key_case=key_case,
            sector=sector,
            reported_from=aware("reported_from", reported_from),
            reported_to=aware("reported_to", reported_to),
        )
        rows, total = await reads.ledger_page(conn, where, offset, limit, as_of)
        return LedgerPage(
            items=[LedgerRow.model_validate(r) for r in rows], total=total, offset=offset, limit=limit
        )

    @router.get("/cases/{case_id}", response_model=LedgerRow)
    async def get_case(
        case_id: uuid.UUID, conn: Annotated[asyncpg.Connection, Depends(connection)], as_of: AsOf = None
    ) -> LedgerRow:
        row = await reads.one_case(conn, case_id, as_of)
        if row is None:
            raise NotFound(f"case {case_id} is not in the ledger", rule="reporting.case")
        return LedgerRow.model_validate(row)

    @router.get("/cases/{case_id}/history", response_model=list[HistoryEntry])
    async def get_history(
        case_id: uuid.UUID, conn: Annotated[asyncpg.Connection, Depends(connection)], as_of: AsOf = None
    ) -> list[HistoryEntry]:
        """Every applied event of the case in seq order, with its hashes, for an auditor."""
        entries = await reads.case_history(conn, case_id, as_of)
        if not entries:
            raise NotFound(f"case {case_id} is not in the ledger", rule="reporting.case")
        return [HistoryEntry.model_validate(e) for e in entries]

    @router.get("/stats/grades")
    async def grade_counts(
        conn: Annotated[asyncpg.Connection, Depends(connection)], as_of: AsOf = None
    ) -> list[dict[str, object]]:
        """Cases per jurisdiction and grade (``ungraded`` until assessed)."""
        return await reads.grade_counts(conn, as_of)

    return router
