"""A case's notices (or a stream's) with their hashes, for officers (``GET /v1/notices``): reminders,
unacknowledged escalations, delivery alerts, notices to reporters and the notices that cross regions,
readable as the delivery log is; a cross-region notice with the other region's acknowledgements."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cluetrail.errors import InvalidInput
from cluetrail.service import Connection
from contracts.notices import Notice
from services.notify.adapters import notices, peer_notices
from services.notify.dependencies import Deps
from services.notify.domain.regions import CROSS_REGION
from services.notify.entrypoints.http.deliveries import NO_TOKEN, NOT_READABLE, Who

router = APIRouter(prefix="/v1", tags=["deliveries", "notices"])


class RegionAcknowledgementView(BaseModel):
    """An office of another region acknowledged a cross-region notice (its ``cross-region-ack`` notice)."""

    region: str
    recipient_id: str
    recipient_name: str | None
    acknowledged_at: datetime
    ack_notice_id: uuid.UUID


class NoticeView(Notice):
    """A notice as recorded, with its hash and the previous one's, and when it reached the notices topic."""

    published_at: datetime | None
    acknowledged_by_regions: list[RegionAcknowledgementView] = Field(
        default_factory=list,
        description="A cross-region notice: the other region's offices that acknowledged it, as that "
        "region's notices say",
    )


@router.get("/notices", response_model=list[NoticeView], responses={**NO_TOKEN, **NOT_READABLE})
async def list_notices(
    conn: Connection,
    deps: Deps,
    who: Who,
    case_id: uuid.UUID | None = None,
    stream: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, object]]:
    """Notify's notices of a case (reminders, unacknowledged escalations, delivery alerts, reporter
    notices, notices across regions) or of a stream, in chain order, each with its hash and the previous
    one's: check them with ``cluetrail notify verify-notices``. A cross-region notice lists the other
    region's offices that acknowledged it."""
    if case_id is None and stream is None:
        raise InvalidInput("name a case_id or a stream", rule="notices-of-a-case")
    rows = await notices.find_notices(
        conn, case_id=case_id, stream=stream, visible=deps.readers.visible(who), limit=limit
    )
    found = [{**json.loads(bytes(r["document"])), "published_at": r["published_at"]} for r in rows]
    crossed = [uuid.UUID(n["notice_id"]) for n in found if n["kind"] == CROSS_REGION]
    acks = await peer_notices.acknowledgements(conn, crossed) if crossed else {}
    for notice in found:
        notice["acknowledged_by_regions"] = [dict(a) for a in acks.get(uuid.UUID(notice["notice_id"]), [])]
    return found
