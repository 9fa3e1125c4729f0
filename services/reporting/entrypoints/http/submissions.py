"""``/v1/reports/submissions``: submitting a month's annex tables (报送), frozen as they stand and recorded on
the submissions topic, and reading a submitted month back as it was recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from cluetrail.auth import Role
from cluetrail.errors import Forbidden, InvalidInput, NotFound
from cluetrail.service import Connection
from services.reporting.adapters.reports import prepare_submission
from services.reporting.adapters.submissions import publish_submission, record_submission, submission
from services.reporting.dependencies import Deps
from services.reporting.domain.periods import CST
from services.reporting.domain.reports import parse_period, scope_for
from services.reporting.entrypoints.http.reading import REFUSED, UNAUTHENTICATED, Reader

router = APIRouter(prefix="/v1", tags=["reporting"])


class SubmissionRequest(BaseModel):
    """Which month to submit, for which office (default: the caller's own jurisdiction)."""

    model_config = ConfigDict(extra="forbid")

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    jurisdiction: str | None = None


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
    body: SubmissionRequest, conn: Connection, principal: Reader, deps: Deps
) -> dict[str, Any]:
    """Submit a month's annex tables (报送): frozen as they stand, recorded on the submissions topic.

    Once answered 202 the month is served as submitted; a second submission of the month, even a
    concurrent one, is refused with 409 naming the first."""
    root = body.jurisdiction or principal.jurisdiction
    if root not in deps.registry:
        raise InvalidInput(
            f"jurisdiction {root} is not in the jurisdiction tree", rule="reporting.jurisdiction"
        )
    deps.access.require_act(
        principal, root, Role.GRID_WORKER, Role.STREET_OFFICER, Role.DISTRICT_LEAD_OFFICER
    )
    now = datetime.now(CST)
    period = parse_period(body.period, now)
    sealed = await prepare_submission(
        conn, deps.registry, deps.settings, principal.as_actor(), root, period, now
    )
    await record_submission(conn, sealed, lambda s: publish_submission(deps.broker, deps.settings, s))
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
    jurisdiction: str, period: str, conn: Connection, principal: Reader, deps: Deps
) -> dict[str, Any]:
    """A submitted month as recorded: who sent it when, its tables and the log positions behind them."""
    scope_for(deps.access, deps.registry, principal, jurisdiction)
    if principal.role is Role.POLICE:
        raise Forbidden("submitted tables cover cases not transferred to the police", rule="role")
    found = await submission(conn, jurisdiction, parse_period(period, datetime.now(CST)))
    if found is None:
        raise NotFound(f"{jurisdiction} has not submitted {period}", rule="reporting.submission")
    return found["document"]
