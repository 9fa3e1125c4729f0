"""分案 on the running services: a second shop of the same company is linked to the first one's case by its
credit code, the lead office splits it off again, and the first case is graded again with its own figures;
a later clue about the second shop follows the second shop's case, not the first's."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cluetrail.settings import CommonSettings
from tests.cases import (
    accepted_clue,
    assert_valid_chain,
    case_documents,
    case_view,
    credit_code,
    lead_office,
    reader,
    unique_shop,
    wait_for_case,
)
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def last_grade(settings: CommonSettings, case_id: str) -> dict[str, Any]:
    assessed = [d for d in case_documents(settings, case_id) if d["type"] == "assessed"]
    payload: dict[str, Any] = assessed[-1]["payload"]
    return payload


def figures(grade: dict[str, Any]) -> dict[str, Any]:
    return {f["name"]: (f["value"], f["points"]) for f in grade["factors"] if f["points"]}


def test_a_clue_split_off_takes_its_figures_back_and_its_subject_follows_its_own_case(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    tag = uuid.uuid4().hex[:8]
    code = credit_code()
    first = accepted_clue(
        stack,
        unique_shop(
            subject={
                "kind": "company",
                "name": f"华都康养服务有限公司{tag}",
                "credit_code": code,
                "address": f"华都路{tag}号",
            }
        ),
    )["case_id"]
    second_shop = {"kind": "shop", "name": f"华都康养二店{tag}", "address": f"长江东路{tag}号"}
    with reader(stack) as read:
        wait_for_case(read, first, last_seq=2)
        # 120 → 20 · 3,000,000 → 20 · vulnerable targets 10 · elderly care 10: 60, serious
        assert (read.get(f"/v1/cases/{first}").json()["score"]) == 60
        second = accepted_clue(
            stack,
            unique_shop(
                source="hotline_12345",
                participants=200,
                estimated_amount_yuan=5_000_000,
                subject={**second_shop, "kind": "company", "credit_code": code},
            ),
        )["case_id"]
        linked = wait_until(
            lambda: (v := read.get(f"/v1/cases/{first}").json())["linked_clues"] and v["score"] != 60 and v,
            what="the second shop linked to the first case and graded again",
        )
        # 320 → 30 · 8,000,000 → 20 · vulnerable 10 · one linked clue 5 · elderly care 10: 75, major
        assert (linked["grade"], linked["score"]) == ("major", 75)

    with lead_office(stack) as lead, reader(stack) as read:
        split = lead.post(
            f"/v1/cases/{first}/split",
            json={"clue_case_id": second, "reason": "经核实二店独立经营，另案处理。"},
        )
        assert split.status_code == 202, split.text
        after = wait_until(
            lambda: (v := read.get(f"/v1/cases/{first}").json())["score"] == 60 and v,
            what="the first case graded again without the second shop",
        )
        assert after["grade"] == "serious" and after["linked_clues"][0]["split"]
        assert figures(last_grade(stack_settings, first)) == {
            "participants": (120, 20),
            "estimated_amount_yuan": (3_000_000, 20),
            "flag:vulnerable_targets": (True, 10),
            "sector": ("elderly_care", 10),
        }
        wait_for_case(read, second, last_seq=4)

        # the second shop again, by its name and address: it follows the second shop's own case
        third = accepted_clue(stack, unique_shop(source="public_app", subject=second_shop))["case_id"]
        followed = wait_until(
            lambda: (v := case_view(read, third)) is not None and v["merged_into"] and v,
            what="the third clue followed on the case on file",
        )
        assert followed["merged_into"] == second
        assert len(read.get(f"/v1/cases/{first}").json()["linked_clues"]) == 1
    documents = case_documents(stack_settings, first)
    assert_valid_chain(documents)
    split_at = [d["type"] for d in documents].index("split")
    assert [d["type"] for d in documents][split_at : split_at + 2] == ["split", "assessed"]
