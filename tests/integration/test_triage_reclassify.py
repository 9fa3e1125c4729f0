"""An officer's classification on the running services: a clue reported without a sector is reclassified
by the district lead office, graded again under the rule set in force, and reporting's ledger follows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cases import YAOHAI, accepted_clue, client, reader, unique_shop, wait_for_case
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def test_a_lead_officer_reclassifies_a_clue_and_the_ledger_and_grade_follow(stack: Stack) -> None:
    clue = unique_shop(sector=None)
    case_id = accepted_clue(stack, clue)["case_id"]
    auditor = stack.token("auditor", "340000", subject="auditor-01")
    with reader(stack) as read:
        before = wait_for_case(read, case_id, last_seq=2)
    assert before["grade"] is not None
    body = {
        "sector": "commerce_services",
        "behaviours": ["promised_high_returns"],
        "reason": "走访核实：以商贸为名。",
    }

    with client(stack, "grid_worker", "340102L01001", "grid-01") as grid:
        assert grid.post(f"/v1/cases/{case_id}/classification", json=body).status_code == 403
    with client(stack, "auditor", "340000", "auditor-01") as audit:
        assert audit.post(f"/v1/cases/{case_id}/classification", json=body).status_code == 403
    with client(stack, "district_lead_officer", YAOHAI, "lead-yaohai-07") as lead:
        unknown = lead.post(f"/v1/cases/{case_id}/classification", json={**body, "sector": "no_such_sector"})
        assert unknown.status_code == 422 and "sector" in unknown.text
        answer = lead.post(f"/v1/cases/{case_id}/classification", json=body)
        assert answer.status_code == 202, answer.text
        assert answer.json()["type"] == "reclassified"
        reclassified_seq = answer.json()["seq"]

    with stack.client("reporting", token=auditor) as reporting:

        def followed() -> list[dict[str, Any]] | None:
            row = reporting.get(f"/v1/cases/{case_id}")
            if row.status_code != 200 or row.json()["sector"] != "commerce_services":
                return None
            history: list[dict[str, Any]] = reporting.get(f"/v1/cases/{case_id}/history").json()
            later = [e for e in history if e["type"] == "assessed" and e["seq"] > reclassified_seq]
            return history if later else None

        history = wait_until(
            followed, timeout=60, what="the ledger with the officer's sector and a new grade"
        )
    event = next(e for e in history if e["type"] == "reclassified")
    assert event["actor"]["id"] == "lead-yaohai-07"
    assert event["payload"]["sector"] == "commerce_services"
    regrade = next(e for e in history if e["type"] == "assessed" and e["seq"] > reclassified_seq)
    assert regrade["payload"]["sector"] == "commerce_services"
    assert regrade["payload"]["sector_source"] == "officer"
    with reader(stack) as read:
        after = wait_for_case(read, case_id, last_seq=regrade["seq"])
    assert after["responsible_department"] == regrade["payload"]["responsible_department"]
    assert after["rule_set"] == regrade["payload"]["rule_set"]
