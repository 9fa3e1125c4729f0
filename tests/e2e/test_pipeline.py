"""End to end, the way officials use it: clues from 龙岗街道's communities travel through intake, triage,
reporting and notify on the real broker and database."""

from __future__ import annotations

import asyncio
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from cluetrail.demo import demo_clues
from cluetrail.settings import CommonSettings
from contracts.chain import verify_chain
from contracts.jurisdictions import default_registry
from services.triage.adapters.rules import bundled_rule_set
from services.triage.domain.grading import assess
from services.triage.domain.state import ClueFacts
from tests.cases import log_documents
from tests.harness import Stack, wait_until
from tests.integration.ledger import LONGGANG_COMMUNITIES

pytestmark = pytest.mark.e2e


def post_clue(client: httpx.Client, clue: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/clues", json=clue)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def expected_assessment(clue: dict[str, Any]) -> tuple[str, bool]:
    facts = ClueFacts(
        sector=clue.get("sector"),
        participants=clue.get("participants"),
        estimated_amount_yuan=clue.get("estimated_amount_yuan"),
        flags=tuple(clue.get("flags", ())),
        regions_involved=tuple(clue.get("regions_involved", ())),
        description=clue["description"],
        behaviours=tuple(clue.get("behaviours", ())),
    )
    payload = assess(
        facts, bundled_rule_set(), jurisdiction=clue["jurisdiction"], registry=default_registry()
    )
    return payload.grade.value, payload.key_case


def ledger_row(reporting: httpx.Client, case_id: str) -> dict[str, Any] | None:
    response = reporting.get(f"/v1/cases/{case_id}")
    return response.json() if response.status_code == 200 else None


def test_two_hundred_clues_become_two_hundred_graded_cases_whose_histories_verify(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    clues = demo_clues(200, seed=int(uuid.uuid4().int % 10_000), jurisdictions=LONGGANG_COMMUNITIES)
    with stack.client("intake") as intake, ThreadPoolExecutor(8) as pool:
        accepted = list(pool.map(lambda clue: post_clue(intake, clue), clues))
    case_ids = [a["case_id"] for a in accepted]
    assert len(set(case_ids)) == 200

    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:

        def all_assessed() -> bool:
            rows = [ledger_row(reporting, case_id) for case_id in case_ids]
            return all(row is not None and row["grade"] is not None for row in rows)

        wait_until(all_assessed, timeout=120, what="200 assessed cases in the ledger")
        for clue, case_id in zip(clues, case_ids, strict=True):
            row = ledger_row(reporting, case_id)
            assert row is not None
            grade, key_case = expected_assessment(clue)
            assert (row["grade"], row["key_case"]) == (grade, key_case), clue
            assert row["jurisdiction"] == clue["jurisdiction"]
            history = reporting.get(f"/v1/cases/{case_id}/history").json()
            assert [h["seq"] for h in history] == list(range(1, len(history) + 1))
            assert [h["type"] for h in history][:2] == ["clue-reported", "assessed"]
        page = reporting.get("/v1/cases", params={"jurisdiction": "340102L01", "limit": 500}).json()
        assert set(case_ids) <= {item["case_id"] for item in page["items"]}

    documents = asyncio.run(log_documents(stack_settings, set(case_ids)))
    assert {d["case_id"] for d in documents} == set(case_ids)
    assert verify_chain(documents) == {}


def test_an_official_takes_a_case_from_clue_to_police_and_closes_it(stack: Stack) -> None:
    clue = {
        "jurisdiction": "340102L01008",  # 琥珀社区
        "source": "grid_patrol",
        "subject": {
            "kind": "shop",
            "name": f"琥珀养老体验馆（{uuid.uuid4().hex[:6]}）",
            "address": "琥珀路8号",
        },
        "description": "网格员扫楼发现门店以养老床位预订为名，向老年人吸收资金并承诺年化15%回报。",
        "sector": "elderly_care",
        "estimated_amount_yuan": 3_000_000,
        "participants": 120,
        "flags": ["vulnerable_targets"],
        "reporter": {"name": "网格员甲", "phone": "138-0000-0000"},
    }
    with (
        stack.client("intake") as intake,
        stack.client(
            "triage", token=stack.token("district_lead_officer", "340102", subject="yaohai-lead-officer-1")
        ) as triage,
        stack.client("reporting", token=stack.token("auditor", "340000")) as reporting,
    ):
        accepted = post_clue(intake, clue)
        case_id, receipt = accepted["case_id"], accepted["receipt_code"]
        wait_until(
            lambda: (ledger_row(reporting, case_id) or {}).get("status") == "assessed", what="assessed"
        )
        wait_until(
            lambda: intake.get(f"/v1/receipts/{receipt}").json().get("status") == "under_review",
            what="receipt shows under review",
        )

        determined = triage.post(
            f"/v1/cases/{case_id}/determination",
            json={
                "determination": "suspected_crime",
                "basis": "现场核查：承诺保本高息，资金去向不明，涉嫌非法吸收公众存款。",
                "measures": ["warning_interview"],
                # the lead office's suspected crime is transferred at once, with the referral's summary
                "summary": "门店承诺保本高息吸收资金，资金去向不明，移送公安。",
            },
        )
        assert determined.status_code == 202, determined.text

        def police_notified() -> list[Any]:
            return [
                r
                for r in stack.recorder.received
                if r.json().get("case_id") == case_id and r.json().get("event_type") == "escalated"
            ]

        notices = wait_until(police_notified, timeout=60, what="police webhook notice")
        assert all(
            "网格员甲" not in r.body.decode() and "138-0000-0000" not in r.body.decode() for r in notices
        )

        refused = triage.post(f"/v1/cases/{case_id}/close", json={"outcome": "rectified"})
        assert refused.status_code == 422  # a close needs its summary
        closed = triage.post(
            f"/v1/cases/{case_id}/close",
            json={
                "outcome": "transferred_to_police",
                "summary": "已移送公安分局立案侦查。",
            },
        )
        assert closed.status_code == 202, closed.text
        again = triage.post(
            f"/v1/cases/{case_id}/close",
            json={"outcome": "rectified", "summary": "重复销号"},
        )
        assert again.status_code == 409

        row = wait_until(
            lambda: (r := ledger_row(reporting, case_id)) and r["status"] == "closed" and r,
            what="closed in ledger",
        )
        assert row["determination"] == "suspected_crime"
        assert row["outcome"] == "transferred_to_police"
        wait_until(
            lambda: intake.get(f"/v1/receipts/{receipt}").json()["status"] == "closed", what="receipt closed"
        )
        history = reporting.get(f"/v1/cases/{case_id}/history").json()
        types = [h["type"] for h in history]
        assert types[:2] == ["clue-reported", "assessed"]
        assert {"determined", "escalated"} <= set(types)
        assert types[-1] == "closed"
        assert "网格员甲" not in json.dumps(history, ensure_ascii=False)


def test_one_clue_is_one_trace_through_all_four_services(stack: Stack) -> None:
    clue = {
        "jurisdiction": "340102L01003",  # 大店社区
        "source": "fund_monitoring",
        "subject": {"kind": "company", "name": f"大店财富管理有限公司（{uuid.uuid4().hex[:6]}）"},
        "description": "银行资金异动监测：账户短期内大量小额转入、集中转出，疑似吸收公众资金。",
        "sector": "wealth_management",
        "estimated_amount_yuan": 150_000_000,
        "participants": 1500,
    }
    with stack.client("intake") as intake:
        case_id = post_clue(intake, clue)["case_id"]

    def spans_for_case() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for name in ("intake", "triage", "reporting", "notify"):
            path = stack.spans_file(name)
            if not path.exists():
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                span = json.loads(line)
                if span.get("attributes", {}).get("cluetrail.case_id") == case_id:
                    found.setdefault(name, set()).add(span["context"]["trace_id"])
        return found

    found = wait_until(
        lambda: (f := spans_for_case()) and len(f) == 4 and f, timeout=60, what="spans in all four services"
    )
    trace_ids = set().union(*found.values())
    assert len(trace_ids) == 1, found
