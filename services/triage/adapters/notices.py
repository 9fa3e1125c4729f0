"""What notify holds for an officer, read through notify's HTTP API with the officer's own token (services
never read another's database): the notices delivered in the officer's part of the tree and not acknowledged
yet."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import httpx
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

# The inbox is a page an officer waits on: notify not answering within this leaves the section out.
NOTIFY_TIMEOUT_SECONDS = 3.0
AWAITING_LIMIT = 100


class AwaitingAcknowledgement(BaseModel):
    """A delivery notify made that its recipient has not acknowledged (fields of notify's DeliveryView)."""

    model_config = ConfigDict(extra="ignore")

    delivery_id: uuid.UUID
    case_id: uuid.UUID
    event_type: str
    jurisdiction: str
    recipient_name: str | None
    channel: str
    delivered_at: datetime | None


_DELIVERIES = TypeAdapter(list[AwaitingAcknowledgement])


@dataclass(frozen=True)
class Awaiting:
    """The answer: the deliveries, or why there are none to show (in Chinese, for the page)."""

    deliveries: list[AwaitingAcknowledgement]
    unavailable: str | None = None


async def awaiting_acknowledgement(notify_url: str, token: str) -> Awaiting:
    """The deliveries awaiting acknowledgement the token's officer may read, the latest delivered first
    (notify's scheduler reminds and escalates the old ones by itself)."""
    try:
        async with httpx.AsyncClient(base_url=notify_url, timeout=NOTIFY_TIMEOUT_SECONDS) as client:
            response = await client.get(
                "/v1/deliveries",
                params={"awaiting_ack": "true", "order": "latest", "limit": AWAITING_LIMIT},
                headers={"Authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError:
        return Awaiting([], "通知服务暂时无法访问，待确认的通知稍后刷新再看。")
    if response.status_code in (401, 403):
        return Awaiting([], "您的登录令牌不能查阅通知服务（签发时未包含 notify）。")
    if response.status_code != 200:
        return Awaiting([], "通知服务暂时无法答复，待确认的通知稍后刷新再看。")
    try:
        return Awaiting(_DELIVERIES.validate_json(response.content))
    except ValidationError:
        return Awaiting([], "通知服务的答复无法读取，待确认的通知暂不显示。")
