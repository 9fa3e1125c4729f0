"""``GET /v1/reports/{table}/export``: a table as a file, an XLSX workbook laid out like the annex form or CSV
(``domain.exports``), read as ``/v1/reports/{table}`` reads it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from cluetrail.errors import InvalidInput
from cluetrail.service import Connection
from contracts.vocabulary import CaseStatus, Grade
from services.reporting.dependencies import Deps
from services.reporting.domain.exports import MEDIA_TYPES, export_bytes
from services.reporting.entrypoints.http.reading import REFUSED, UNAUTHENTICATED, AsOf, Live, Reader, Sector
from services.reporting.entrypoints.http.reports import report_tables

router = APIRouter(prefix="/v1", tags=["reporting"])


@router.get(
    "/reports/{table}/export",
    responses={**UNAUTHENTICATED, **REFUSED, 404: {"description": "No such table"}},
)
async def export_report(
    table: str,
    conn: Connection,
    principal: Reader,
    deps: Deps,
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
        conn, deps, principal, table, period, jurisdiction, sector, grade, status, as_of, live
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
