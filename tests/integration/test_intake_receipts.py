"""What a reporter follows through the receipt code, through the running services.

A reporter of a wealth-management key case in 大店社区 sees it accepted, under verification and
transferred to the police, with notify's notice on the receipt; a reporter of an elderly-care shop in
华都社区 sees it verified, written off and rewarded. A second clue about the key case's company (same
credit code) is merged into it (并案): its receipt says so, with the stage of the case its subject is
handled in, and the notices of that case from then on. No receipt says who handled the case, how, about
whom, or for how much.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.cases import (
    accepted_clue,
    credit_code,
    key_case_clue,
    lead_office,
    reader,
    street_office,
    transfer_to_police,
    unique_shop,
    wait_for_case,
)
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def receipt(stack: Stack, code: str) -> dict[str, Any]:
    with stack.client("intake") as intake:
        answer = intake.get(f"/v1/receipts/{code}")
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def receipt_when(stack: Stack, code: str, what: str, predicate: Any) -> dict[str, Any]:
    found: dict[str, Any] = wait_until(
        lambda: (r := receipt(stack, code)) and predicate(r) and r, timeout=120, what=what
    )
    return found


def stages(body: dict[str, Any]) -> list[str]:
    return [s["stage"] for s in body["history"]]


def assert_nothing_confidential(body: dict[str, Any], *secrets: str) -> None:
    text = str(body)
    for secret in secrets:
        assert secret not in text, secret


def test_a_reporter_follows_the_transfer_to_the_police_and_the_closure_through_the_receipt(
    stack: Stack,
) -> None:
    company = f"某某财富管理有限公司{uuid.uuid4().hex[:6]}"
    code = credit_code()
    clue = key_case_clue(subject={"kind": "company", "name": company, "credit_code": code})
    with stack.client("intake") as intake:
        answer = intake.post("/v1/clues", json=clue)
    assert answer.status_code == 202, answer.text
    key_case, key_receipt = answer.json()["case_id"], answer.json()["receipt_code"]
    with reader(stack) as read:
        wait_for_case(read, key_case, last_seq=2)
    transfer_to_police(stack, key_case)

    transferred = receipt_when(
        stack,
        key_receipt,
        "the transfer on the receipt",
        lambda r: "transferred" in stages(r) and r["messages"],
    )
    assert stages(transferred) == ["received", "under_review", "transferred"]
    assert transferred["status"] == "in_handling" and transferred["merged_case_status"] is None
    assert [s["label"] for s in transferred["history"]][-1] == "已移送公安机关依法处理"
    (message,) = transferred["messages"]
    assert message["stage"] == "transferred" and message["text"].startswith(
        "【举报进度】您举报的线索已移送公安机关"
    )
    assert message["on"] == transferred["history"][-1]["on"]
    assert_nothing_confidential(transferred, key_case, company, code, "瑶海", "150000000", "officer-yaohai-1")

    # 瑶海's lead office closes the case: the reporter sees it closed, and is told.
    with lead_office(stack) as lead:
        closed = lead.post(
            f"/v1/cases/{key_case}/close",
            json={"outcome": "transferred_to_police", "summary": "已移送公安机关立案侦查。"},
        )
    assert closed.status_code == 202, closed.text
    receipt_when(stack, key_receipt, "the closure on the receipt", lambda r: r["status"] == "closed")
    done = receipt_when(stack, key_receipt, "the closure notice", lambda r: len(r["messages"]) == 2)
    assert stages(done) == ["received", "under_review", "transferred", "closed"]
    assert [m["stage"] for m in done["messages"]] == ["transferred", "closed"]


def test_a_merged_clue_shows_the_stage_of_the_case_its_subject_is_handled_in(stack: Stack) -> None:
    company = f"某某理财咨询有限公司{uuid.uuid4().hex[:6]}"
    code = credit_code()
    subject = {"kind": "company", "name": company, "credit_code": code}
    first = accepted_clue(stack, key_case_clue(subject=subject))
    with reader(stack) as read:
        wait_for_case(read, first["case_id"], last_seq=2)
    second = accepted_clue(stack, key_case_clue(subject=subject, source="hotline_12345"))
    merged = receipt_when(
        stack, second["receipt_code"], "the merge on the receipt", lambda r: r["status"] == "merged"
    )
    assert stages(merged) == ["received", "merged"]
    assert merged["history"][-1]["label"] == "已并入其他案件一并办理"
    # Its subject is still being handled in the case on file: not "closed".
    assert merged["merged_case_status"] in ("under_review", "in_handling")
    assert_nothing_confidential(merged, first["case_id"], second["case_id"], company, code)

    transfer_to_police(stack, first["case_id"])
    followed = receipt_when(
        stack,
        second["receipt_code"],
        "the other case's transfer on the merged receipt",
        lambda r: r["messages"],
    )
    assert followed["status"] == "merged" and followed["merged_case_status"] == "in_handling"
    assert [m["stage"] for m in followed["messages"]] == ["transferred"]


def test_a_verified_clue_written_off_shows_its_reward(stack: Stack) -> None:
    clue = unique_shop(reporter={"name": "举报人丁", "phone": "000-0000-0077"})
    first = accepted_clue(stack, clue)
    case_id = first["case_id"]
    with reader(stack) as read, street_office(stack) as street, lead_office(stack) as lead:
        wait_for_case(read, case_id, last_seq=2)
        determined = street.post(
            f"/v1/cases/{case_id}/determination",
            json={"determination": "regularise", "basis": "真实经营，风险可控，监督清退。"},
        )
        assert determined.status_code == 202, determined.text
        written = lead.post(
            f"/v1/cases/{case_id}/write-off",
            json={
                "outcome": "funds_returned",
                "summary": "资金已全部清退，门店停业。",
                "recovered_amount_yuan": 3_000_000,
                "claims_handled": 120,
            },
        )
        assert written.status_code == 202, written.text
        rewarded = lead.post(
            f"/v1/cases/{case_id}/reward", json={"amount_yuan": 2000, "basis": "线索经查属实。"}
        )
        assert rewarded.status_code == 202, rewarded.text
    body = receipt_when(
        stack,
        first["receipt_code"],
        "the write-off and the reward on the receipt",
        lambda r: r["reward_granted"] and len(r["messages"]) == 2,
    )
    assert body["status"] == "closed"
    assert stages(body) == ["received", "under_review", "closed", "reward_granted"]
    assert [m["stage"] for m in body["messages"]] == ["closed", "reward_granted"]
    assert "举报奖励已发放" in body["messages"][1]["text"]
    assert_nothing_confidential(
        body, case_id, clue["subject"]["name"], "2000", "3000000", "举报人丁", "000-0000-0077"
    )


def test_a_merged_reporter_sees_the_other_case_s_notices_only_from_the_merge_on(stack: Stack) -> None:
    """Two reporters, one company, one day: the first reporter's case is transferred to the police and
    they are told; then the second reporter's clue is merged into that case. The second receipt showed
    the first reporter's notice, for it was sent the same day as the merge."""
    company = f"某某资产管理有限公司{uuid.uuid4().hex[:6]}"
    code = credit_code()
    subject = {"kind": "company", "name": company, "credit_code": code}
    first = accepted_clue(
        stack, key_case_clue(subject=subject, reporter={"name": "举报人甲", "phone": "000-1"})
    )
    with reader(stack) as read:
        wait_for_case(read, first["case_id"], last_seq=2)
    transfer_to_police(stack, first["case_id"])
    told = receipt_when(stack, first["receipt_code"], "the first reporter told", lambda r: r["messages"])
    assert [m["stage"] for m in told["messages"]] == ["transferred"]

    second = accepted_clue(
        stack,
        key_case_clue(
            subject=subject, source="hotline_12345", reporter={"name": "举报人乙", "phone": "000-2"}
        ),
    )
    merged = receipt_when(
        stack, second["receipt_code"], "the merge on the receipt", lambda r: r["status"] == "merged"
    )
    assert merged["history"][-1]["on"] == told["messages"][0]["on"]  # the same day
    assert merged["messages"] == []

    with lead_office(stack) as lead:
        closed = lead.post(
            f"/v1/cases/{first['case_id']}/close",
            json={"outcome": "transferred_to_police", "summary": "已移送公安机关立案侦查。"},
        )
    assert closed.status_code == 202, closed.text
    after = receipt_when(
        stack, second["receipt_code"], "the closure notice on the merged receipt", lambda r: r["messages"]
    )
    assert [m["stage"] for m in after["messages"]] == ["closed"]
    assert len(receipt(stack, first["receipt_code"])["messages"]) == 2
