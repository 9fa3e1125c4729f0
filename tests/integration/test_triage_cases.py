"""Triage against the running services: clues reported through intake are graded, key cases escalated,
officers' commands recorded or refused, and every case's events form one valid chain in the log."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from cluetrail.settings import CommonSettings
from tests.cases import (
    LEAD_OFFICER,
    LITONG,
    STREET_OFFICER,
    YAOHAI,
    assert_valid_chain,
    case_documents,
    case_view,
    credit_code,
    elderly_care_clue,
    lead_office,
    reader,
    report,
    street_office,
    wait_for_case,
    wait_for_log,
)
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def test_a_clue_from_longgang_is_assessed_with_its_grade(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = report(stack, elderly_care_clue())
    with reader(stack) as triage:
        view = wait_for_case(triage, case_id, last_seq=2)
    # 120 participants → 20, 3,000,000 yuan → 20, vulnerable targets → 10, elderly care → 10: 60, serious.
    assert (view["status"], view["grade"], view["score"], view["key_case"]) == (
        "assessed",
        "serious",
        60,
        False,
    )
    documents = wait_for_log(stack_settings, case_id, 2)
    assert_valid_chain(documents)
    assessed = documents[1]
    assert assessed["type"] == "assessed"
    assert assessed["payload"]["rule_set"] == "triage-rules/2026.2"
    assert sum(f["points"] for f in assessed["payload"]["factors"]) == 60
    assert assessed["causation_id"] == documents[0]["event_id"]
    assert assessed["correlation_id"] == documents[0]["correlation_id"]
    assert assessed["actor"] == {"kind": "service", "id": "triage", "role": None}
    # the assessment continues the clue's trace
    assert assessed["traceparent"].split("-")[1] == documents[0]["traceparent"].split("-")[1]


def test_a_key_case_across_regions_is_escalated_automatically(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = report(stack, elderly_care_clue(estimated_amount_yuan=150_000_000, regions_involved=[LITONG]))
    with reader(stack) as triage:
        view = wait_for_case(triage, case_id, last_seq=5)
    assert (view["status"], view["grade"], view["key_case"]) == ("escalated", "major", True)
    assert view["key_case_reasons"] == ["amount_at_least_100m", "cross_region"]
    assert view["key_case_flag"]["supervising_leader"] == "区政府分管副区长"
    assert view["key_case_flag"]["trial_and_return_by"] is None
    documents = wait_for_log(stack_settings, case_id, 5)
    assert_valid_chain(documents)
    escalations = [
        (d["payload"]["target"], d["payload"]["target_jurisdiction"], d["payload"]["rule"])
        for d in documents[2:]
        if d["type"] == "escalated"
    ]
    assert escalations == [("lead_office", YAOHAI, "key-case"), ("other_region", LITONG, "cross-region")]
    assert [d["type"] for d in documents].count("key-case-flagged") == 1


def test_suspected_crime_is_transferred_to_the_police_with_a_referral_and_closing_is_final(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = report(stack, elderly_care_clue())
    with reader(stack) as read, lead_office(stack) as lead:
        wait_for_case(read, case_id, last_seq=2)
        determination = {
            "determination": "suspected_crime",
            "basis": "合同与宣传材料显示承诺保本付息，资金去向不明。",
            "measures": ["seizure"],
        }
        # the lead office transfers at once, so the referral's summary must come with it
        no_summary = lead.post(f"/v1/cases/{case_id}/determination", json=determination)
        assert no_summary.status_code == 409, no_summary.text
        assert no_summary.json()["errors"] == [{"rule": "transfer-needs-summary"}]
        bad_measure = lead.post(
            f"/v1/cases/{case_id}/determination", json={**determination, "measures": ["seizure", "约谈"]}
        )
        assert bad_measure.status_code == 422
        assert [e["field"] for e in bad_measure.json()["errors"]] == ["measures.1"]
        determined = lead.post(
            f"/v1/cases/{case_id}/determination",
            json={**determination, "summary": "门店以养老床位为名吸收老年人资金，资金去向不明。"},
        )
        assert determined.status_code == 202, determined.text
        assert determined.json()["seq"] == 3
        assert determined.json()["type"] == "determined"
        view = wait_for_case(read, case_id, last_seq=5)
        assert view["status"] == "transferred"
        assert view["escalations"][-1]["target"] == "police"
        assert view["escalations"][-1]["target_jurisdiction"] == YAOHAI
        assert view["police"]["referral_seq"] == 5

        no_outcome = lead.post(f"/v1/cases/{case_id}/close", json={"summary": "已移送"})
        assert no_outcome.status_code == 422
        assert any(e["field"] == "outcome" for e in no_outcome.json()["errors"])

        closing = {"outcome": "transferred_to_police", "summary": "已移送公安机关立案侦查。"}
        first = lead.post(f"/v1/cases/{case_id}/close", json=closing)
        assert first.status_code == 202, first.text
        assert first.json()["seq"] == 6
        again = lead.post(f"/v1/cases/{case_id}/close", json=closing)
        assert again.status_code == 409
        assert "closed-is-final" in again.json()["detail"]
        assert case_view(read, case_id)["status"] == "closed"  # type: ignore[index]

    # the 202 came only once Kafka had the event, so the log holds all six now
    documents = case_documents(stack_settings, case_id)
    assert [d["type"] for d in documents] == [
        "clue-reported",
        "assessed",
        "determined",
        "escalated",
        "referral-packaged",
        "closed",
    ]
    assert_valid_chain(documents)
    police = documents[3]
    assert (police["payload"]["target"], police["payload"]["rule"]) == ("police", None)
    assert police["causation_id"] == documents[2]["event_id"]
    assert documents[4]["causation_id"] == police["event_id"]
    assert documents[4]["payload"]["summary"] == "门店以养老床位为名吸收老年人资金，资金去向不明。"
    lead_actor = {"kind": "officer", "id": LEAD_OFFICER, "role": "district_lead_officer"}
    assert [d["actor"] for d in documents[2:5]] == [lead_actor] * 3


def test_a_street_officer_escalates_and_unknown_cases_look_like_cases_elsewhere(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_id = report(stack, elderly_care_clue(participants=12, estimated_amount_yuan=50_000, flags=[]))
    with reader(stack) as read, street_office(stack) as street:
        view = wait_for_case(read, case_id, last_seq=2)
        assert view["grade"] == "low"
        escalated = street.post(
            f"/v1/cases/{case_id}/escalation",
            json={"target": "lead_office", "reason": "性质认定存在争议，报区处非办研判。"},
        )
        assert escalated.status_code == 202, escalated.text
        other_region = street.post(
            f"/v1/cases/{case_id}/escalation", json={"target": "other_region", "reason": "通报"}
        )
        assert other_region.status_code == 422
        unknown = str(uuid.uuid4())
        assert read.get(f"/v1/cases/{unknown}").status_code == 404  # auditors may know what exists
        hidden = street.get(f"/v1/cases/{unknown}")
        assert hidden.status_code == 403
        missing = street.post(
            f"/v1/cases/{unknown}/close", json={"outcome": "no_violation", "summary": "未发现违规。"}
        )
        assert missing.status_code == 403
        assert missing.json()["detail"] == hidden.json()["detail"]
    documents = case_documents(stack_settings, case_id)
    assert_valid_chain(documents)
    escalation = documents[-1]["payload"]
    # 龙岗街道 reports to the level above it: 瑶海区's lead office
    assert (escalation["rule"], escalation["level"], escalation["target_jurisdiction"]) == (
        None,
        "district",
        YAOHAI,
    )
    assert escalation["from_jurisdiction"] == "340102L01"
    assert documents[-1]["actor"] == {"kind": "officer", "id": STREET_OFFICER, "role": "street_officer"}


def test_a_rebuilt_database_folds_the_log_and_decides_nothing_twice(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    on_file = {"kind": "company", "name": "华都康养服务有限公司", "credit_code": credit_code()}
    decided = report(stack, elderly_care_clue(estimated_amount_yuan=150_000_000, subject=on_file))
    with reader(stack) as triage:
        before = wait_for_case(triage, decided, last_seq=4)
    wait_for_log(stack_settings, decided, 4)
    stack.stop("triage")
    # reported while triage is down: its assessment must be decided once, after the rebuild
    pending = report(stack, elderly_care_clue())
    # and a clue about the subject on file: linked to it once, as if triage had been up
    same_subject = report(stack, elderly_care_clue(subject={**on_file, "name": "华都康养服务公司"}))
    database = stack.env["CLUETRAIL_DATABASE_PREFIX"] + "_triage"

    async def drop() -> None:
        admin = await asyncpg.connect(stack_settings.database_url.rpartition("/")[0] + "/postgres")
        try:
            await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())
    stack.start("triage")
    with reader(stack) as triage:
        after = wait_until(
            lambda: (v := case_view(triage, decided)) is not None and v["linked_clues"] and v,
            timeout=60,
            what="the clue reported while triage was down linked to the case on file",
        )
        assert [(c["clue_case_id"], c["basis"]) for c in after["linked_clues"]] == [
            (same_subject, "credit_code")
        ]
        unchanged = ("jurisdiction", "key_case", "key_case_flag", "escalations", "responsible_department")
        assert {k: after[k] for k in unchanged} == {k: before[k] for k in unchanged}
        wait_for_case(triage, pending, last_seq=2)
        assert wait_for_case(triage, same_subject, last_seq=2)["merged_into"] == decided
    documents = wait_for_log(stack_settings, decided, 5)
    assert [d["type"] for d in documents][:5] == [
        "clue-reported",
        "assessed",
        "escalated",
        "key-case-flagged",
        "clue-linked",
    ]
    assert [d["type"] for d in documents].count("clue-linked") == 1
    assert_valid_chain(documents)
    documents = wait_for_log(stack_settings, pending, 2)
    assert [d["type"] for d in documents] == ["clue-reported", "assessed"]
    assert_valid_chain(documents)
    documents = wait_for_log(stack_settings, same_subject, 2)
    assert [d["type"] for d in documents] == ["clue-reported", "merged"]
    assert_valid_chain(documents)
