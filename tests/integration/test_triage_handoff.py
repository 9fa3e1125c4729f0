"""协商办理 on the running services: a case of 华都社区 handed to 利通区 is routed under 利通区's
department table and graded under its rules once accepted, so 利通区's department acts on it; an offer
still waiting when 瑶海区 closes the case lapses with it."""

from __future__ import annotations

import pytest

from cluetrail.settings import CommonSettings
from tests.cases import (
    LITONG,
    YAOHAI,
    accepted_clue,
    assert_valid_chain,
    case_documents,
    client,
    lead_office,
    reader,
    unique_shop,
    wait_for_case,
)
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def test_litong_takes_a_case_over_and_its_own_department_acts_on_it(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = accepted_clue(stack, unique_shop(participants=250))["case_id"]
    measure = {"measure": "warning_interview", "detail": "约谈门店负责人。"}
    with (
        reader(stack) as read,
        lead_office(stack) as yaohai,
        client(stack, "district_lead_officer", LITONG, "lead-litong-01") as litong,
        client(stack, "sector_department", LITONG, "dept-litong-01", department="区民政局") as civil_affairs,
        client(stack, "sector_department", YAOHAI, "dept-yaohai-01", department="社会事务中心") as social,
    ):
        before = wait_for_case(read, case_id, last_seq=2)
        # 瑶海区 (default rules): 250 → 20 · 3,000,000 → 20 · vulnerable targets 10 · elderly care 10
        assert (before["grade"], before["score"], before["responsible_department"]) == (
            "serious",
            60,
            "社会事务中心",
        )
        offer = {"to_jurisdiction": LITONG, "reason": "实际经营地与参与人均在利通区。"}
        assert yaohai.post(f"/v1/cases/{case_id}/handoff", json=offer).status_code == 202
        assert civil_affairs.post(f"/v1/cases/{case_id}/measures", json=measure).status_code == 403
        accepted = litong.post(f"/v1/cases/{case_id}/handoff/accept", json={})
        assert accepted.status_code == 202, accepted.text

        def routed_in_litong() -> dict[str, object] | None:
            view: dict[str, object] = read.get(f"/v1/cases/{case_id}").json()
            return view if view["responsible_department"] == "区民政局" else None

        after = wait_until(routed_in_litong, what="the case routed under 利通区's table")
        # 利通区's rule file: 250 ≥ 200 → 30 · 3,000,000 → 20 · vulnerable 10 · elderly care 10: 70, major
        assert (after["jurisdiction"], after["grade"], after["score"]) == (LITONG, "major", 70)
        assert civil_affairs.post(f"/v1/cases/{case_id}/measures", json=measure).status_code == 202
        assert social.post(f"/v1/cases/{case_id}/measures", json=measure).status_code == 403
        assert social.get(f"/v1/cases/{case_id}").status_code == 200  # 瑶海区 still reads it

    documents = case_documents(stack_settings, case_id)
    assert_valid_chain(documents)
    regraded = next(d for d in documents if d["type"] == "assessed" and d["jurisdiction"] == LITONG)
    assert (regraded["payload"]["district_rules"], regraded["payload"]["routing_table"]) == (
        "640302/2026.1",
        LITONG,
    )


def test_an_offer_still_waiting_lapses_when_the_case_is_closed(stack: Stack) -> None:
    case_id = accepted_clue(stack, unique_shop())["case_id"]
    with (
        reader(stack) as read,
        lead_office(stack) as yaohai,
        client(stack, "district_lead_officer", LITONG, "lead-litong-01") as litong,
    ):
        wait_for_case(read, case_id, last_seq=2)
        offer = {"to_jurisdiction": LITONG, "reason": "参与人多在利通区。"}
        assert yaohai.post(f"/v1/cases/{case_id}/handoff", json=offer).status_code == 202
        assert litong.get(f"/v1/cases/{case_id}").json()["handoff_pending"]["to_jurisdiction"] == LITONG
        closing = {"outcome": "no_violation", "summary": "核实后未发现违规。"}
        assert yaohai.post(f"/v1/cases/{case_id}/close", json=closing).status_code == 202
        view = read.get(f"/v1/cases/{case_id}").json()
        assert (view["status"], view["handoff_pending"]) == ("closed", None)
        assert litong.get(f"/v1/cases/{case_id}").status_code == 403
        assert litong.post(f"/v1/cases/{case_id}/handoff/accept", json={}).status_code == 403
