"""``GET /v1/stats/grades``: cases per jurisdiction and grade, kept by the projector as events are applied."""

from __future__ import annotations

from fastapi import APIRouter

from cluetrail.auth import Role
from cluetrail.errors import Forbidden
from cluetrail.service import Connection
from services.reporting.adapters import reads
from services.reporting.dependencies import Deps
from services.reporting.entrypoints.http.reading import REFUSED, UNAUTHENTICATED, AsOf, Reader

router = APIRouter(prefix="/v1", tags=["reporting"])


@router.get("/stats/grades", responses={**UNAUTHENTICATED, **REFUSED})
async def grade_counts(
    conn: Connection, principal: Reader, deps: Deps, as_of: AsOf = None
) -> list[dict[str, object]]:
    """Cases per jurisdiction and grade (``ungraded`` until assessed), within the reader's scope."""
    counts = await reads.grade_counts(conn, as_of)
    if principal.role is Role.POLICE:
        raise Forbidden("grade counts cover cases not transferred to the police", rule="role")
    return [c for c in counts if deps.access.can_read(principal, str(c["jurisdiction"]))]
