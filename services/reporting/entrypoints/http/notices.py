"""``GET /v1/cases/{case_id}/notices``: notify's notices about a case, as written on the notices topic, under
the case's access rule. They are notify's decisions, not events of the case."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from cluetrail.service import Connection
from services.reporting.adapters.notices import case_notices
from services.reporting.dependencies import Deps
from services.reporting.entrypoints.http.reading import (
    UNAUTHENTICATED,
    UNKNOWN_CASE,
    AsOf,
    Reader,
    readable_case,
)

router = APIRouter(prefix="/v1", tags=["reporting"])


@router.get(
    "/cases/{case_id}/notices",
    responses={
        **UNAUTHENTICATED,
        **UNKNOWN_CASE,
        409: {"description": "The projection read was built before notices were kept"},
    },
)
async def get_notices(
    case_id: uuid.UUID, conn: Connection, principal: Reader, deps: Deps, as_of: AsOf = None
) -> list[dict[str, Any]]:
    """notify's notices about the case (reminders, unacknowledged escalations, delivery alerts,
    notices to its reporter) in the order they were recorded, each exactly as written on the notices
    topic: its hash can be recomputed from its own document and it continues its stream's chain
    (contracts.notices.verify_notices). They are notify's decisions, not events of the case."""
    await readable_case(conn, deps, principal, case_id, as_of)
    return await case_notices(conn, case_id, as_of)
