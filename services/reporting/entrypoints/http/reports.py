"""``/v1/reports``: the tables this service produces, and each as JSON (title, Chinese headers, rows and what
it covers) for a period, a subtree and filters; a submitted month as it was sent unless ``live``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Query

from cluetrail.auth import Principal
from cluetrail.errors import NotFound
from cluetrail.service import Connection
from contracts.vocabulary import CaseStatus, Grade
from services.reporting.adapters.reports import build_tables
from services.reporting.dependencies import Deps, ReportingDeps
from services.reporting.domain.exports import SHEET_NAMES
from services.reporting.domain.periods import CST
from services.reporting.domain.reports import EXPORTABLE, TABLES, ReportQuery, parse_period, scope_for
from services.reporting.domain.tables import Table
from services.reporting.entrypoints.http.reading import REFUSED, UNAUTHENTICATED, AsOf, Live, Reader, Sector

router = APIRouter(prefix="/v1", tags=["reporting"])


@router.get("/reports")
async def list_reports() -> list[dict[str, str]]:
    """The tables this service produces, with their Chinese titles."""
    return [{"name": name, "sheet": SHEET_NAMES.get(name, name)} for name in (*TABLES, "annex")]


async def report_tables(
    conn: asyncpg.Connection, deps: ReportingDeps, principal: Principal, table: str, period: str | None,
    jurisdiction: str | None, sector: str | None, grade: Grade | None, status: CaseStatus | None,
    as_of: str | None, live: bool = False,
) -> list[Table]:  # fmt: skip
    """The tables ``table`` names (the three annex tables for ``annex``) as ``principal`` may read them."""
    if table not in EXPORTABLE:
        raise NotFound(f"no table {table!r}; tables: {', '.join(EXPORTABLE)}", rule="reporting.table")
    scope = scope_for(deps.access, deps.registry, principal, jurisdiction)
    query = ReportQuery(
        table,
        parse_period(period, datetime.now(CST)),
        sector=sector,
        grade=grade.value if grade else None,
        status=status.value if status else None,
        as_of=as_of,
        live=live,
    )
    return await build_tables(conn, deps.registry, query, scope, regions=deps.regions)


@router.get(
    "/reports/{table}", responses={**UNAUTHENTICATED, **REFUSED, 404: {"description": "No such table"}}
)
async def get_report(
    table: str,
    conn: Connection,
    principal: Reader,
    deps: Deps,
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
        conn, deps, principal, table, period, jurisdiction, sector, grade, status, as_of, live
    )
    return tables[0].as_json() if len(tables) == 1 else [t.as_json() for t in tables]
