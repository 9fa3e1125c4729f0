"""A case's notices (or a stream's) with their hashes, for officers (``GET /v1/notices``): reminders,
unacknowledged escalations, delivery alerts and notices to reporters, readable as the delivery log is."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from cluetrail.errors import InvalidInput
from cluetrail.service import Connection
from contracts.notices import Notice
from services.notify.adapters import notices
from services.notify.dependencies import Deps
from services.notify.entrypoints.http.deliveries import NO_TOKEN, NOT_READABLE, Who

router = APIRouter(prefix="/v1", tags=["deliveries", "notices"])


class NoticeView(Notice):
    """A notice as recorded, with its hash and the previous one's, and when it reached the notices topic."""

    published_at: datetime | None


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
    notices) or of a stream, in chain order, each with its hash and the previous one's: check them
    with ``cluetrail notify verify-notices``."""
    if case_id is None and stream is None:
        raise InvalidInput("name a case_id or a stream", rule="notices-of-a-case")
    rows = await notices.find_notices(
        conn, case_id=case_id, stream=stream, visible=deps.readers.visible(who), limit=limit
    )
    return [{**json.loads(bytes(r["document"])), "published_at": r["published_at"]} for r in rows]
