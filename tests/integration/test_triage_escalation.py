"""逐级上报 and 移送公安 on the running services: a dispute climbs from 华都社区 to 龙岗街道 to 瑶海区's lead
office one level at a time, each level deciding or reporting further up; a street's suspected crime goes to
the lead office, which transfers it with a summary; the write-off waits for the police and records what it
relied on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from cluetrail.settings import CommonSettings
from tests.cases import (
    LONGGANG_HUADU,
    YAOHAI,
    accepted_clue,
    assert_valid_chain,
    case_documents,
    client,
    lead_office,
    reader,
    street_office,
    unique_shop,
    wait_for_case,
)
from tests.harness import Stack

pytestmark = pytest.mark.integration

LONGGANG = "340102L01"


def community_office(stack: Stack) -> httpx.Client:
    """华都社区's office: a street office's staff placed at the community."""
    return client(stack, "street_officer", LONGGANG_HUADU, "officer-huadu-01")


def determine(officer: httpx.Client, case_id: str, determination: str, **more: Any) -> httpx.Response:
    body = {"determination": determination, "basis": "走访核查，调取合同与宣传材料。", **more}
    return officer.post(f"/v1/cases/{case_id}/determination", json=body)


def escalations(settings: CommonSettings, case_id: str) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (p["target"], p["target_jurisdiction"], p["level"], p["rule"])
        for p in (d["payload"] for d in case_documents(settings, case_id) if d["type"] == "escalated")
    ]


def test_a_dispute_climbs_from_the_community_to_the_street_to_the_lead_office(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = accepted_clue(stack, unique_shop())["case_id"]
    with (
        reader(stack) as read,
        community_office(stack) as huadu,
        street_office(stack) as longgang,
        lead_office(stack) as yaohai,
    ):
        wait_for_case(read, case_id, last_seq=2)
        assert determine(huadu, case_id, "disputed").status_code == 202
        view = read.get(f"/v1/cases/{case_id}").json()
        assert view["status"] == "escalated"
        assert (view["escalations"][-1]["target_jurisdiction"], view["escalations"][-1]["level"]) == (
            LONGGANG,
            "street",
        )
        assert view["waiting_on"] == LONGGANG
        # it waits on 龙岗街道 now: the community no longer acts on it
        assert determine(huadu, case_id, "general_violation").status_code == 403
        assert determine(longgang, case_id, "disputed").status_code == 202
        assert read.get(f"/v1/cases/{case_id}").json()["waiting_on"] == YAOHAI
        # at 瑶海区 it waits on the lead office, which is the top: it decides
        refused = determine(longgang, case_id, "general_violation")
        assert refused.status_code == 403 and refused.json()["errors"] == [{"rule": "role"}]
        top = determine(yaohai, case_id, "disputed")
        assert top.status_code == 409 and top.json()["errors"] == [{"rule": "lead-office-decides"}]
        assert determine(yaohai, case_id, "general_violation").status_code == 202
        assert read.get(f"/v1/cases/{case_id}").json()["status"] == "under_disposal"

    assert escalations(stack_settings, case_id) == [
        ("lead_office", LONGGANG, "street", "disputed-determination"),
        ("lead_office", YAOHAI, "district", "disputed-determination"),
    ]
    assert_valid_chain(case_documents(stack_settings, case_id))


def test_a_streets_suspected_crime_goes_to_the_lead_office_which_transfers_and_writes_off_later(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = accepted_clue(stack, unique_shop())["case_id"]
    with (
        reader(stack) as read,
        street_office(stack) as longgang,
        lead_office(stack) as yaohai,
        client(stack, "police", YAOHAI, "police-yaohai-01") as police,
    ):
        wait_for_case(read, case_id, last_seq=2)
        assert determine(longgang, case_id, "suspected_crime").status_code == 202
        view = read.get(f"/v1/cases/{case_id}").json()
        assert (view["status"], view["police"]) == ("escalated", None)
        assert police.get(f"/v1/cases/{case_id}").status_code == 403  # nothing transferred yet
        transfer = {"target": "police", "reason": "涉嫌非法吸收公众存款", "summary": "门店吸收老年人资金。"}
        assert longgang.post(f"/v1/cases/{case_id}/escalation", json=transfer).status_code == 403
        assert yaohai.post(f"/v1/cases/{case_id}/escalation", json=transfer).status_code == 202
        accepted = police.post(
            f"/v1/cases/{case_id}/police-acceptance", json={"police_case_number": "瑶公立[2026]120号"}
        )
        assert accepted.status_code == 202, accepted.text

        write_off = {"outcome": "funds_returned", "summary": "资金清退完毕。", "recovered_amount_yuan": 0}
        held = yaohai.post(f"/v1/cases/{case_id}/write-off", json={**write_off, "claims_handled": 0})
        assert held.status_code == 409 and held.json()["errors"] == [{"rule": "write-off-police-holding"}]
        closing = {"outcome": "transferred_to_police", "summary": "公安机关已立案侦查。"}
        closed = yaohai.post(f"/v1/cases/{case_id}/close", json=closing)
        assert closed.status_code == 202, closed.text
        nothing = yaohai.post(f"/v1/cases/{case_id}/write-off", json={**write_off, "claims_handled": 0})
        assert nothing.status_code == 409
        assert nothing.json()["errors"] == [{"rule": "write-off-needs-recovery"}]
        reason = "参与人均已向公安机关申报，追赃挽损由公安办理。"
        written = yaohai.post(
            f"/v1/cases/{case_id}/write-off",
            json={**write_off, "claims_handled": 0, "no_recovery_reason": reason},
        )
        assert written.status_code == 202, written.text

    documents = case_documents(stack_settings, case_id)
    assert_valid_chain(documents)
    assert escalations(stack_settings, case_id) == [
        ("lead_office", YAOHAI, "district", "suspected-crime"),
        ("police", YAOHAI, None, None),
    ]
    by_seq = {d["seq"]: d for d in documents}
    off = documents[-1]
    assert off["type"] == "written-off" and off["schema_version"] == 2
    relied = off["payload"]["relied_on"]
    # an auditor checks each condition against the chain
    assert by_seq[relied["result_seq"]]["type"] == "closed" == relied["result_type"]
    assert by_seq[relied["result_seq"]]["payload"]["outcome"] == relied["result"] == "transferred_to_police"
    assert by_seq[relied["police_seq"]]["payload"]["target"] == "police"
    last_clue = datetime.fromisoformat(relied["last_clue_at"])
    assert last_clue == datetime.fromisoformat(documents[0]["recorded_at"])  # the clue itself, seq 1
    assert (relied["amount_at_risk_yuan"], relied["no_recovery_reason"]) == (3_000_000, reason)
    assert off["payload"]["conditions_met"] == [
        "result-recorded",
        "quiet-period",
        "no-recovery-reason",
        "police-result-closed",
    ]
