"""Reporting's handlers: the live case-event subscriber feeding the active projection, and the read API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import asyncpg
from aiokafka import ConsumerRecord
from fastapi import APIRouter, Depends, Query, Response
from faststream.kafka import KafkaRouter
from pydantic import BaseModel, ConfigDict, Field

from cluetrail.auth import AccessPolicy, Principal, Role, current_principal
from cluetrail.consume import Incoming, Rejected
from cluetrail.errors import Forbidden, InvalidInput, NotFound
from cluetrail.kafka import notice_topic
from cluetrail.service import (
    Runtime,
    case_events_router,
    connection,
    exactly_once_consumer,
    runtime_of,
    topic_consumer,
)
from contracts.api import HistoryEntry, LedgerPage, LedgerRow
from contracts.jurisdictions import JurisdictionRegistry
from contracts.taxonomy import SectorCode
from contracts.vocabulary import CaseStatus, Grade
from services.reporting.adapters import reads
from services.reporting.adapters.log import LogUnreadable, read_documents
from services.reporting.adapters.notices import apply_notices, case_notices
from services.reporting.adapters.projector import apply_events
from services.reporting.adapters.submissions import submission
from services.reporting.adapters.versions import use_active_projection
from services.reporting.domain.periods import CST
from services.reporting.domain.tables import Table, ledger_table
from services.reporting.exports import MEDIA_TYPES, SHEET_NAMES, export_bytes
from services.reporting.reports import (
    EXPORTABLE,
    TABLES,
    ReportQuery,
    build_tables,
    parse_period,
    readable,
    scope_for,
    subtree,
)
from services.reporting.submit import (
    prepare_submission,
    publish_submission,
    record_submission,
    submissions_router,
)

CONSUMER_GROUP = "reporting"
# notify's notices, read into the same projection version (positions kept beside the case log's).
NOTICES_CONSUMER = "reporting-notices"
MAX_PAGE = 500
# PostgreSQL's OFFSET is a bigint: a larger offset is refused with 422, not failed in the driver.
MAX_OFFSET = 2**63 - 1


async def apply_one(conn: asyncpg.Connection, incoming: Incoming) -> None:
    """Apply one live event to the active version; an event off its case's chain is dead-lettered."""
    result = await apply_events(conn, [incoming])
    if result.rejected:
        raise Rejected(result.rejected[0][1])


async def apply_notice(conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
    """Apply one notice to the active version; one that is not a notice or is off its stream's chain is
    dead-lettered."""
    result = await apply_notices(conn, [record])
    if result.rejected:
        raise Rejected(result.rejected[0][1])


async def aim_at_active_projection(conn: asyncpg.Connection) -> None:
    """The consumer's prepare hook: lock, then point this batch at the active version."""
    await use_active_projection(conn)


def kafka_routers(rt: Runtime) -> list[KafkaRouter]:
    """The live consumers: group "reporting" on the case log and "reporting-notices" on notify's notices,
    both with their positions kept inside the active projection version."""
    consumer = exactly_once_consumer(
        rt,
        CONSUMER_GROUP,
        apply_one,
        # Unqualified: resolved through the search_path that prepare aims at the active version.
        positions_table="consumer_positions",
        prepare=aim_at_active_projection,
    )
    notices = topic_consumer(
        rt,
        NOTICES_CONSUMER,
        notice_topic(rt.settings),
        apply_notice,
        positions_table="consumer_positions",
        prepare=aim_at_active_projection,
    )
    rt.state["consumer"] = consumer
    rt.state["notices_consumer"] = notices
    return [
        case_events_router(rt, consumer),
        case_events_router(rt, notices),
        submissions_router(rt),
    ]


class SubmissionRequest(BaseModel):
    """Which month to submit, for which office (default: the caller's own jurisdiction)."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    jurisdiction: str | None = None


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
Connection = Annotated[asyncpg.Connection, Depends(connection)]


def http_router(registry: JurisdictionRegistry) -> APIRouter:
    """The ledger and report API; every request reads the active version (or the as-of projection it names).

    Every read needs a token: a user reads their own subtree, auditors everything, police the cases
    transferred to them (cluetrail.auth.AccessPolicy).
    """
    router = APIRouter(prefix="/v1", tags=["reporting"])
    policy = AccessPolicy(registry)

    def aware(name: str, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"{name} must carry a time zone (ISO 8601 with offset)", rule="reporting.instant"
            )
        return value

    async def readable_case(
        conn: asyncpg.Connection, principal: Principal, case_id: uuid.UUID, as_of: str | None
    ) -> dict[str, object]:
        row = await reads.one_case(conn, case_id, as_of)
        # A case outside the reader's scope answers like a missing one: a refusal must not say it exists.
        if row is None or not readable(policy, principal, row):
            raise NotFound(f"case {case_id} is not in the ledger", rule="reporting.case")
        return row

    @router.get("/cases", response_model=LedgerPage, responses={**UNAUTHENTICATED, **REFUSED})
    async def list_cases(
        conn: Connection,
        principal: Reader,
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
        scope = scope_for(policy, registry, principal, jurisdiction)
        # An auditor who names no jurisdiction reads the whole ledger, every tree included.
        where = reads.LedgerFilter(
            jurisdictions=None if scope.everything else subtree(registry, scope.root),
            status=status.value if status else None,
            grade=grade.value if grade else None,
            key_case=key_case,
            sector=sector,
            reported_from=aware("reported_from", reported_from),
            reported_to=aware("reported_to", reported_to),
            transferred_to_police=True if scope.police_only else None,
        )
        rows, total = await reads.ledger_page(conn, where, offset, limit, as_of)
        return LedgerPage(
            items=[LedgerRow.model_validate(r) for r in rows], total=total, offset=offset, limit=limit
        )

    @router.get("/cases/{case_id}", response_model=LedgerRow, responses={**UNAUTHENTICATED, **UNKNOWN_CASE})
    async def get_case(
        case_id: uuid.UUID, conn: Connection, principal: Reader, as_of: AsOf = None
    ) -> LedgerRow:
        return LedgerRow.model_validate(await readable_case(conn, principal, case_id, as_of))

    @router.get("/cases/{case_id}/ledger", responses={**UNAUTHENTICATED, **UNKNOWN_CASE})
    async def get_case_columns(
        case_id: uuid.UUID, conn: Connection, principal: Reader, as_of: AsOf = None
    ) -> dict[str, Any]:
        """The case's full ledger row, with the columns the annex tables use (docs/reporting.md)."""
        row = await readable_case(conn, principal, case_id, as_of)
        return ledger_table("ledger", [row], registry).rows[0]

    @router.get(
        "/cases/{case_id}/history",
        response_model=list[HistoryEntry],
        responses={**UNAUTHENTICATED, **UNKNOWN_CASE},
    )
    async def get_history(
        case_id: uuid.UUID, conn: Connection, principal: Reader, as_of: AsOf = None
    ) -> list[HistoryEntry]:
        """Every applied event of the case in seq order, with its hashes, for an auditor."""
        await readable_case(conn, principal, case_id, as_of)
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
        case_id: uuid.UUID,
        conn: Connection,
        principal: Reader,
        rt: Annotated[Runtime, Depends(runtime_of)],
        as_of: AsOf = None,
    ) -> list[dict[str, Any]]:
        """Every applied event of the case in seq order as written on the case log (the whole envelope,
        never upcast), read from the log where the projection recorded it: each hash can be recomputed
        from its own document (contracts.envelope.compute_hash)."""
        await readable_case(conn, principal, case_id, as_of)
        positions = await reads.case_positions(conn, case_id, as_of)
        documents = await read_documents(
            rt.settings, [(int(str(p["kafka_partition"])), int(str(p["kafka_offset"]))) for p in positions]
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

    @router.get(
        "/cases/{case_id}/notices",
        responses={
            **UNAUTHENTICATED,
            **UNKNOWN_CASE,
            409: {"description": "The projection read was built before notices were kept"},
        },
    )
    async def get_notices(
        case_id: uuid.UUID, conn: Connection, principal: Reader, as_of: AsOf = None
    ) -> list[dict[str, Any]]:
        """notify's notices about the case (reminders, unacknowledged escalations, delivery alerts,
        notices to its reporter) in the order they were recorded, each exactly as written on the notices
        topic: its hash can be recomputed from its own document and it continues its stream's chain
        (contracts.notices.verify_notices). They are notify's decisions, not events of the case."""
        await readable_case(conn, principal, case_id, as_of)
        return await case_notices(conn, case_id, as_of)

    @router.get("/stats/grades", responses={**UNAUTHENTICATED, **REFUSED})
    async def grade_counts(
        conn: Connection, principal: Reader, as_of: AsOf = None
    ) -> list[dict[str, object]]:
        """Cases per jurisdiction and grade (``ungraded`` until assessed), within the reader's scope."""
        counts = await reads.grade_counts(conn, as_of)
        if principal.role is Role.POLICE:
            raise Forbidden("grade counts cover cases not transferred to the police", rule="role")
        return [c for c in counts if policy.can_read(principal, str(c["jurisdiction"]))]

    @router.get("/reports")
    async def list_reports() -> list[dict[str, str]]:
        """The tables this service produces, with their Chinese titles."""
        return [{"name": name, "sheet": SHEET_NAMES.get(name, name)} for name in (*TABLES, "annex")]

    async def report_tables(
        conn: asyncpg.Connection, principal: Principal, table: str, period: str | None,
        jurisdiction: str | None, sector: str | None, grade: Grade | None, status: CaseStatus | None,
        as_of: str | None, live: bool = False,
    ) -> list[Table]:  # fmt: skip
        if table not in EXPORTABLE:
            raise NotFound(f"no table {table!r}; tables: {', '.join(EXPORTABLE)}", rule="reporting.table")
        scope = scope_for(policy, registry, principal, jurisdiction)
        query = ReportQuery(
            table,
            parse_period(period, datetime.now(CST)),
            sector=sector,
            grade=grade.value if grade else None,
            status=status.value if status else None,
            as_of=as_of,
            live=live,
        )
        return await build_tables(conn, registry, query, scope)

    @router.post(
        "/reports/submissions",
        status_code=202,
        responses={
            **UNAUTHENTICATED,
            **REFUSED,
            409: {"description": "The month is submitted already (the detail names the submission)"},
            503: {"description": "Kafka did not acknowledge; nothing was recorded, submit again"},
        },
    )
    async def submit_month(
        body: SubmissionRequest,
        conn: Connection,
        principal: Reader,
        rt: Annotated[Runtime, Depends(runtime_of)],
    ) -> dict[str, Any]:
        """Submit a month's annex tables (报送): frozen as they stand, recorded on the submissions topic.

        Once answered 202 the month is served as submitted; a second submission of the month, even a
        concurrent one, is refused with 409 naming the first."""
        root = body.jurisdiction or principal.jurisdiction
        if root not in registry:
            raise InvalidInput(
                f"jurisdiction {root} is not in the jurisdiction tree", rule="reporting.jurisdiction"
            )
        policy.require_act(principal, root, Role.GRID_WORKER, Role.STREET_OFFICER, Role.DISTRICT_LEAD_OFFICER)
        now = datetime.now(CST)
        period = parse_period(body.period, now)
        sealed = await prepare_submission(
            conn, registry, rt.settings, principal.as_actor(), root, period, now
        )
        await record_submission(conn, sealed, lambda s: publish_submission(rt, s))
        return {
            "submission_id": str(sealed.submission_id),
            "jurisdiction": sealed.jurisdiction,
            "period": sealed.period,
            "content_sha256": sealed.content_sha256,
            "positions": sealed.positions,
            "projection": sealed.projection,
        }

    @router.get(
        "/reports/submissions/{jurisdiction}/{period}",
        responses={**UNAUTHENTICATED, **REFUSED, 404: {"description": "Not submitted"}},
    )
    async def get_submission(
        jurisdiction: str, period: str, conn: Connection, principal: Reader
    ) -> dict[str, Any]:
        """A submitted month as recorded: who sent it when, its tables and the log positions behind them."""
        scope_for(policy, registry, principal, jurisdiction)
        if principal.role is Role.POLICE:
            raise Forbidden("submitted tables cover cases not transferred to the police", rule="role")
        found = await submission(conn, jurisdiction, parse_period(period, datetime.now(CST)))
        if found is None:
            raise NotFound(f"{jurisdiction} has not submitted {period}", rule="reporting.submission")
        return found["document"]

    @router.get(
        "/reports/{table}", responses={**UNAUTHENTICATED, **REFUSED, 404: {"description": "No such table"}}
    )
    async def get_report(
        table: str,
        conn: Connection,
        principal: Reader,
        period: Annotated[str | None, Query(description="YYYY-MM (default: this month)")] = None,
        jurisdiction: Annotated[str | None, Query(description="Subtree root (default: yours)")] = None,
        sector: Sector = None,
        grade: Grade | None = None,
        status: CaseStatus | None = None,
        as_of: AsOf = None,
        live: Live = False,
    ) -> Any:
        """A table as JSON: title, columns (key and Chinese header), rows and what it covers."""
        tables = await report_tables(
            conn, principal, table, period, jurisdiction, sector, grade, status, as_of, live
        )
        return tables[0].as_json() if len(tables) == 1 else [t.as_json() for t in tables]

    @router.get(
        "/reports/{table}/export",
        responses={**UNAUTHENTICATED, **REFUSED, 404: {"description": "No such table"}},
    )
    async def export_report(
        table: str,
        conn: Connection,
        principal: Reader,
        format: Annotated[str, Query(pattern="^(xlsx|csv)$")] = "xlsx",
        period: str | None = None,
        jurisdiction: str | None = None,
        sector: Sector = None,
        grade: Grade | None = None,
        status: CaseStatus | None = None,
        as_of: AsOf = None,
        live: Live = False,
    ) -> Response:
        """The table as an XLSX workbook laid out like the annex form, or as CSV."""
        tables = await report_tables(
            conn, principal, table, period, jurisdiction, sector, grade, status, as_of, live
        )
        try:
            body = export_bytes(tables, format)
        except ValueError as exc:
            raise InvalidInput(str(exc), rule="reporting.format") from None
        meta = tables[0].meta
        filename = f"{table}-{meta['jurisdiction'] or 'all'}-{meta['period']}.{format}"
        return Response(
            body,
            media_type=MEDIA_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    return router
