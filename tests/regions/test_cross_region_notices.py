"""跨区域通报 on the two real clusters: a clue of 瑶海区 (安徽) naming 利通区 (宁夏) reaches 利通区's lead
office once, through 宁夏's notify; its acknowledgement travels back and 安徽's record of the notice shows
it. A chain refusal is alerted in both regions."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from tests.cases import LITONG, reader, report, unique_shop
from tests.harness import Recorded, Stack, wait_until
from tests.regions.cases import in_region
from tests.regions.cluster import ANHUI, NINGXIA, TwoRegions

pytestmark = pytest.mark.integration


def posts_about(stack: Stack, path: str, case_id: str, kind: str) -> list[Recorded]:
    return [
        p
        for p in stack.recorder.to(path)
        if p.json().get("case_id") == case_id and p.json().get("event_type") == kind
    ]


def notices(stack: Stack, case_id: str) -> list[dict[str, Any]]:
    token = stack.token("auditor", "340000", subject="auditor-01")
    with stack.client("notify", token=token) as notify:
        answer = notify.get("/v1/notices", params={"case_id": case_id})
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()
    return found


def test_a_cross_region_notice_reaches_litong_once_and_the_acknowledgement_returns(
    regions: TwoRegions,
) -> None:
    anhui, ningxia = regions.anhui.stack, regions.ningxia.stack
    case_id = report(anhui, unique_shop(regions_involved=[LITONG]))
    with reader(anhui) as read:
        in_region(read, case_id, 3)

    def told() -> list[Recorded] | None:
        found = posts_about(ningxia, "/litong-lead-office", case_id, "cross-region-received")
        return found or None

    first = wait_until(told, timeout=120, what="利通区's lead office told by 宁夏's notify")[0].json()
    assert first["text"].startswith("【跨区域通报】")
    # 安徽's notify tells no office of 宁夏: the notice crosses, the delivery is 宁夏's.
    assert not [p for p in anhui.recorder.to("/litong-lead-office") if p.json().get("case_id") == case_id]

    url = httpx.URL(first["acknowledge_url"])
    with httpx.Client(base_url=ningxia.url("notify"), timeout=30) as client:
        answer = client.post(url.path, json={"token": url.params["token"]})
    assert answer.status_code == 200, answer.text

    def acknowledged_in_anhui() -> dict[str, Any] | None:
        crossing = [n for n in notices(anhui, case_id) if n["kind"] == "cross-region"]
        return crossing[0] if crossing and crossing[0]["acknowledged_by_regions"] else None

    crossing = wait_until(acknowledged_in_anhui, timeout=120, what="安徽 seeing 宁夏's acknowledgement")
    assert [a["region"] for a in crossing["acknowledged_by_regions"]] == [NINGXIA]
    assert crossing["facts"]["to_region"] == NINGXIA and crossing["facts"]["from_region"] == ANHUI
    # Still once, after the acknowledgement went round.
    deliveries = Counter(
        {k.lower(): v for k, v in p.headers.items()}["webhook-id"]
        for p in posts_about(ningxia, "/litong-lead-office", case_id, "cross-region-received")
    )
    assert list(deliveries.values()) == [1], deliveries
