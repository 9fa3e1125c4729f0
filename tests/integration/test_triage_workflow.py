"""Triage's workflow on the running services: who may do what (tokens, jurisdiction, roles), the police
transfer with its referral bundle, dedup and merge, write-off and reopening by a new clue, handoff between
districts, and the reporter's reward shown on the receipt."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest

from cluetrail.settings import CommonSettings
from contracts.chain import verify_chain
from contracts.envelope import canonical_bytes
from tests.cases import (
    LITONG,
    LONGGANG_HUADU,
    SHOUXIAN,
    YAOHAI,
    accepted_clue,
    assert_valid_chain,
    case_documents,
    client,
    credit_code,
    lead_office,
    reader,
    street_office,
    unique_shop,
    wait_for_case,
)
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def receipt_status(stack: Stack, receipt: str) -> dict[str, Any]:
    with stack.client("intake") as intake:
        body: dict[str, Any] = intake.get(f"/v1/receipts/{receipt}").json()
    return body


def types_of(stack_settings: CommonSettings, case_id: str) -> list[str]:
    return [d["type"] for d in case_documents(stack_settings, case_id)]


def test_officers_act_only_within_their_jurisdiction_and_role_and_refusals_say_nothing_more(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = accepted_clue(stack, unique_shop())["case_id"]
    with reader(stack) as read:
        view = wait_for_case(read, case_id, last_seq=2)
    department = view["responsible_department"]
    unknown = str(uuid.uuid4())
    determination = {"determination": "general_violation", "basis": "现场核查：违规宣传高息回报。"}

    with httpx.Client(base_url=stack.url("triage")) as anonymous:
        assert anonymous.get(f"/v1/cases/{case_id}").status_code == 401
        assert anonymous.post(f"/v1/cases/{case_id}/determination", json=determination).status_code == 401

    with (
        client(stack, "district_lead_officer", LITONG, "lead-litong-01") as elsewhere,
        client(stack, "grid_worker", LONGGANG_HUADU, "grid-huadu-01") as grid,
        client(stack, "police", YAOHAI, "police-yaohai-01") as police,
        reader(stack) as auditor,
    ):
        hidden = elsewhere.get(f"/v1/cases/{unknown}")
        assert hidden.status_code == 403
        for answer in (
            elsewhere.get(f"/v1/cases/{case_id}"),
            elsewhere.post(f"/v1/cases/{case_id}/determination", json=determination),
            elsewhere.post(f"/v1/cases/{unknown}/determination", json=determination),
            police.get(f"/v1/cases/{case_id}"),  # not transferred to the police
            police.get(f"/v1/cases/{unknown}"),
        ):
            assert answer.status_code == 403
            assert answer.json() == hidden.json()
        assert case_id not in hidden.text
        refused = grid.post(f"/v1/cases/{case_id}/determination", json=determination)
        assert refused.status_code == 403 and "role" in refused.json()["detail"]
        read_only = auditor.post(f"/v1/cases/{case_id}/determination", json=determination)
        assert read_only.status_code == 403 and "never change" in read_only.json()["detail"]
        assert grid.get(f"/v1/cases/{case_id}").status_code == 200  # in the grid worker's own subtree

    measure = {"measure": "warning_interview", "detail": "约谈门店负责人，责令停止宣传。"}
    with (
        client(stack, "sector_department", YAOHAI, "dept-01", department=department) as routed,
        client(stack, "sector_department", YAOHAI, "dept-02", department="区投资促进局") as other_department,
        street_office(stack) as street,
    ):
        assert department is not None
        assert other_department.post(f"/v1/cases/{case_id}/measures", json=measure).status_code == 403
        recorded = routed.post(f"/v1/cases/{case_id}/measures", json=measure)
        assert recorded.status_code == 202, recorded.text
        determined = street.post(f"/v1/cases/{case_id}/determination", json=determination)
        assert determined.status_code == 202, determined.text

    documents = case_documents(stack_settings, case_id)
    assert_valid_chain(documents)
    actors = {d["type"]: d["actor"] for d in documents}
    assert actors["measure-recorded"] == {"kind": "officer", "id": "dept-01", "role": "sector_department"}
    assert actors["determined"]["role"] == "street_officer"


def test_a_transfer_to_the_police_comes_with_a_verifiable_referral_and_the_police_accept_it(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    evidence = {
        "sha256": "ab" * 32,
        "media_type": "image/jpeg",
        "filename": "门头照片.jpg",
        "size_bytes": 2048,
    }
    case_id = accepted_clue(stack, unique_shop(evidence=[evidence]))["case_id"]
    with reader(stack) as read, lead_office(stack) as lead, street_office(stack) as street:
        wait_for_case(read, case_id, last_seq=2)
        transfer = {"target": "police", "reason": "涉嫌非法吸收公众存款"}
        no_summary = lead.post(f"/v1/cases/{case_id}/escalation", json=transfer)
        assert no_summary.status_code == 409 and "transfer-needs-summary" in no_summary.json()["detail"]
        by_street = street.post(
            f"/v1/cases/{case_id}/escalation", json={**transfer, "summary": "门店吸收老年人资金。"}
        )
        assert by_street.status_code == 403  # the lead office transfers
        sent = lead.post(
            f"/v1/cases/{case_id}/escalation", json={**transfer, "summary": "门店吸收老年人资金。"}
        )
        assert sent.status_code == 202, sent.text
        assert sent.json()["type"] == "escalated"

    with client(stack, "police", YAOHAI, "police-yaohai-01") as police:
        view = police.get(f"/v1/cases/{case_id}")
        assert view.status_code == 200 and view.json()["status"] == "transferred"
        bundle = police.get(f"/v1/cases/{case_id}/referral")
        assert bundle.status_code == 200, bundle.text
        referral = bundle.json()
        assert (
            hashlib.sha256(canonical_bytes(referral["manifest"])).hexdigest() == referral["manifest_sha256"]
        )
        assert verify_chain(referral["events"]) == {}
        assert [e["hash"] for e in referral["events"]] == referral["manifest"]["event_hashes"]
        assert referral["evidence"] == [evidence]
        assert referral["events"][-1]["type"] == "escalated"

        accepted = police.post(
            f"/v1/cases/{case_id}/police-acceptance", json={"police_case_number": "瑶公立[2026]88号"}
        )
        assert accepted.status_code == 202, accepted.text
        again = police.post(f"/v1/cases/{case_id}/police-return", json={"reason": "证据不足"})
        assert again.status_code == 409 and "police-answer-once" in again.json()["detail"]
        assert police.get(f"/v1/cases/{case_id}").json()["police"]["police_case_number"] == "瑶公立[2026]88号"

    documents = case_documents(stack_settings, case_id)
    assert_valid_chain(documents)
    assert [d["type"] for d in documents][-3:] == ["escalated", "referral-packaged", "police-accepted"]
    assert documents[-2]["payload"]["manifest_sha256"] == referral["manifest_sha256"]


def test_a_clue_about_a_subject_on_file_is_linked_and_officers_split_and_merge_with_a_reason(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    code = credit_code()
    first = accepted_clue(
        stack, unique_shop(subject={"kind": "company", "name": "某某理财有限公司", "credit_code": code})
    )
    with reader(stack) as read:
        wait_for_case(read, first["case_id"], last_seq=2)
        second = accepted_clue(
            stack,
            unique_shop(
                source="hotline_12345",
                participants=30,
                subject={"kind": "company", "name": "某某理财公司", "credit_code": code},
            ),
        )
        merged = wait_for_case(read, second["case_id"], last_seq=2)
        assert merged["status"] == "merged" and merged["merged_into"] == first["case_id"]
        target = wait_until(
            lambda: (v := read.get(f"/v1/cases/{first['case_id']}").json())["linked_clues"] and v,
            what="the clue linked on the case on file",
        )
        (link,) = target["linked_clues"]
        assert (link["clue_case_id"], link["basis"], link["split"]) == (
            second["case_id"],
            "credit_code",
            False,
        )
    # The merged clue's receipt shows the merge and the stage of the case its subject is handled in.
    wait_until(
        lambda: receipt_status(stack, second["receipt_code"])["status"] == "merged", what="receipt merged"
    )

    def linked_in_log() -> list[str] | None:
        types = types_of(stack_settings, first["case_id"])
        return types if "clue-linked" in types else None

    linked_log = wait_until(linked_in_log, what="clue-linked in the log")
    assert linked_log[:3] == ["clue-reported", "assessed", "clue-linked"]
    second_log = case_documents(stack_settings, second["case_id"])
    assert [d["type"] for d in second_log] == ["clue-reported", "merged"]
    linked = next(d for d in case_documents(stack_settings, first["case_id"]) if d["type"] == "clue-linked")
    assert linked["payload"]["clue_hash"] == second_log[0]["hash"]  # the clue itself, by its hash

    with lead_office(stack) as lead, reader(stack) as read:
        split = lead.post(
            f"/v1/cases/{first['case_id']}/split",
            json={"clue_case_id": second["case_id"], "reason": "经核实为另一门店，主体不同。"},
        )
        assert split.status_code == 202, split.text
        back = wait_for_case(read, second["case_id"], last_seq=4)
        assert back["status"] in ("assessed", "escalated") and back["merged_into"] is None
        no_reason = lead.post(f"/v1/cases/{second['case_id']}/merge", json={"into_case_id": first["case_id"]})
        assert no_reason.status_code == 422
        merge = lead.post(
            f"/v1/cases/{second['case_id']}/merge",
            json={"into_case_id": first["case_id"], "reason": "再次核实：同一主体的两处门店。"},
        )
        assert merge.status_code == 202, merge.text
        assert read.get(f"/v1/cases/{second['case_id']}").json()["status"] == "merged"
        assert len(read.get(f"/v1/cases/{first['case_id']}").json()["linked_clues"]) == 2
    for case in (first["case_id"], second["case_id"]):
        assert_valid_chain(case_documents(stack_settings, case))


def test_a_written_off_case_reopens_on_a_new_matching_clue_and_the_receipt_shows_the_reward(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    clue = unique_shop(reporter={"name": "举报人丙", "phone": "000-0000-0042"})
    first = accepted_clue(stack, clue)
    case_id = first["case_id"]
    with reader(stack) as read, street_office(stack) as street, lead_office(stack) as lead:
        wait_for_case(read, case_id, last_seq=2)
        write_off = {
            "outcome": "funds_returned",
            "summary": "资金已全部清退，门店停业。",
            "recovered_amount_yuan": 3_000_000,
            "claims_handled": 120,
        }
        too_early = lead.post(f"/v1/cases/{case_id}/write-off", json=write_off)
        assert too_early.status_code == 409 and "state-machine" in too_early.json()["detail"]
        assert (
            street.post(
                f"/v1/cases/{case_id}/determination",
                json={"determination": "regularise", "basis": "真实经营，风险可控，监督清退。"},
            ).status_code
            == 202
        )
        assert street.post(f"/v1/cases/{case_id}/write-off", json=write_off).status_code == 403
        written = lead.post(f"/v1/cases/{case_id}/write-off", json=write_off)
        assert written.status_code == 202, written.text
        rewarded = lead.post(
            f"/v1/cases/{case_id}/reward", json={"amount_yuan": 2000, "basis": "线索经查属实。"}
        )
        assert rewarded.status_code == 202, rewarded.text
        assert read.get(f"/v1/cases/{case_id}").json()["status"] == "written_off"

        def rewarded_receipt() -> dict[str, Any] | None:
            status = receipt_status(stack, first["receipt_code"])
            return status if (status["status"], status["reward_granted"]) == ("closed", True) else None

        wait_until(rewarded_receipt, what="the receipt closed with its reward")

        # the same shop again, written a little differently: the case reopens and follows the clue
        again = dict(clue, source="hotline_12345", reporter=None)
        again["subject"] = {**clue["subject"], "name": " ".join(clue["subject"]["name"])}
        newcomer = accepted_clue(stack, again)
        reopened = wait_until(
            lambda: (v := read.get(f"/v1/cases/{case_id}").json())["reopened"] and v, what="the case reopened"
        )
        assert reopened["status"] in ("under_disposal", "escalated")
        assert reopened["linked_clues"][0]["clue_case_id"] == newcomer["case_id"]
        assert reopened["linked_clues"][0]["basis"] == "name_address"
    types = types_of(stack_settings, case_id)
    assert types[types.index("written-off") :][:4] == [
        "written-off",
        "reward-granted",
        "reopened",
        "clue-linked",
    ]
    assert_valid_chain(case_documents(stack_settings, case_id))


def test_a_case_handed_to_shou_county_moves_with_its_chain_and_both_districts_see_the_trail(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = accepted_clue(stack, unique_shop())["case_id"]
    with (
        reader(stack) as read,
        lead_office(stack) as yaohai,
        client(stack, "district_lead_officer", SHOUXIAN, "lead-shouxian-01") as shouxian,
    ):
        wait_for_case(read, case_id, last_seq=2)
        assert shouxian.get(f"/v1/cases/{case_id}").status_code == 403
        offer = {"to_jurisdiction": SHOUXIAN, "reason": "实际经营地与主要参与人均在寿县。"}
        assert yaohai.post(f"/v1/cases/{case_id}/handoff", json=offer).status_code == 202
        assert shouxian.get(f"/v1/cases/{case_id}").json()["handoff_pending"]["to_jurisdiction"] == SHOUXIAN
        assert yaohai.post(f"/v1/cases/{case_id}/handoff/accept", json={}).status_code == 403
        returned = shouxian.post(
            f"/v1/cases/{case_id}/handoff/return", json={"reason": "主要参与人仍在瑶海。"}
        )
        assert returned.status_code == 202, returned.text
        assert shouxian.get(f"/v1/cases/{case_id}").status_code == 403

        assert yaohai.post(f"/v1/cases/{case_id}/handoff", json=offer).status_code == 202
        accepted = shouxian.post(f"/v1/cases/{case_id}/handoff/accept", json={"note": "寿县处非办接办。"})
        assert accepted.status_code == 202, accepted.text
        view = shouxian.get(f"/v1/cases/{case_id}").json()
        assert view["jurisdiction"] == SHOUXIAN and view["handoff_pending"] is None
        notice = {"measure": "public_notice", "detail": "在经营场所张贴公告。"}
        # 瑶海区 handed it over: it still reads the case and its trail, and acts on it no more
        seen = yaohai.get(f"/v1/cases/{case_id}").json()
        assert (seen["jurisdiction"], seen["held_by"]) == (SHOUXIAN, [LONGGANG_HUADU, SHOUXIAN])
        refused = yaohai.post(f"/v1/cases/{case_id}/measures", json=notice)
        assert refused.status_code == 403 and refused.json()["errors"] == [{"rule": "jurisdiction-subtree"}]
        assert shouxian.post(f"/v1/cases/{case_id}/measures", json=notice).status_code == 202
        trails = [c.get(f"/v1/cases/{case_id}/history") for c in (yaohai, shouxian)]
        assert [t.status_code for t in trails] == [200, 200]
        assert trails[0].json() == trails[1].json()
        trail = trails[0].json()
        assert_valid_chain(trail)
        assert [d["type"] for d in trail][-3:] == ["handoff-accepted", "assessed", "measure-recorded"]
        # the reporter's identity stays with the district that holds the case
        identity = yaohai.get(f"/v1/cases/{case_id}/reporter", params={"purpose": "核实。"})
        assert identity.status_code == 403

    documents = case_documents(stack_settings, case_id)
    assert_valid_chain(documents)
    assert documents == trail
    moves = [
        (d["type"], d["jurisdiction"], d["payload"]["from_region"], d["payload"]["to_region"])
        for d in documents
        if d["type"].startswith("handoff")
    ]
    # CLUETRAIL_REGION is not set for the test stack: the documented default region
    assert moves == [
        ("handoff-requested", LONGGANG_HUADU, "local", "local"),
        ("handoff-returned", LONGGANG_HUADU, "local", "local"),
        ("handoff-requested", LONGGANG_HUADU, "local", "local"),
        ("handoff-accepted", SHOUXIAN, "local", "local"),
    ]
    # routed again where it is now: 寿县 has no rule file, so the default table and rules, recorded anew
    regraded = documents[-2]
    assert (regraded["type"], regraded["jurisdiction"]) == ("assessed", SHOUXIAN)
    assert regraded["payload"]["district"] == SHOUXIAN
    assert regraded["causation_id"] == documents[-3]["event_id"]
    assert documents[-1]["jurisdiction"] == SHOUXIAN
    # reporting serves the case and its trail to both districts too; its ledger lists it where it is now
    readers = {
        code: stack.client(
            "reporting", token=stack.token("district_lead_officer", code, subject=f"lead-{code}")
        )
        for code in (YAOHAI, SHOUXIAN)
    }
    try:
        wait_for_case(readers[SHOUXIAN], case_id, last_seq=len(documents))
        for code, read_reports in readers.items():
            row = read_reports.get(f"/v1/cases/{case_id}").json()
            assert (row["jurisdiction"], row["held_by"]) == (SHOUXIAN, [LONGGANG_HUADU, SHOUXIAN]), code
            history = read_reports.get(f"/v1/cases/{case_id}/history").json()
            assert [h["hash"] for h in history] == [d["hash"] for d in documents], code
        listed = readers[YAOHAI].get("/v1/cases", params={"limit": 200}).json()["items"]
        assert case_id not in {item["case_id"] for item in listed}
    finally:
        for read_reports in readers.values():
            read_reports.close()
