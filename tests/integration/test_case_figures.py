"""One meaning of a case's figures (涉众规模, 风险敞口) in every service: a second shop of the same company
is linked to the first shop's case, then split off again. At each step triage's case view, reporting's
ledger row and its annex columns, and notify's case facts show the same participants and money at risk:
the first clue's, plus the linked clue's, less the split one's — as triage graded them (assessed v3)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from cluetrail.settings import CommonSettings
from tests.cases import accepted_clue, credit_code, lead_office, reader, unique_shop, wait_for_case
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


async def notify_figures(settings: CommonSettings, case_id: str) -> tuple[int | None, int | None] | None:
    conn = await asyncpg.connect(settings.database_for("notify"))
    try:
        row = await conn.fetchrow(
            "SELECT participants, estimated_amount_yuan FROM cases WHERE case_id = $1", uuid.UUID(case_id)
        )
    finally:
        await conn.close()
    return None if row is None else (row["participants"], row["estimated_amount_yuan"])


def everywhere(
    stack: Stack, settings: CommonSettings, triage: httpx.Client, case_id: str, last_seq: int
) -> dict[str, Any] | None:
    """The case's figures as each service shows them, once each has applied the case up to ``last_seq``."""
    view = triage.get(f"/v1/cases/{case_id}").json()
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        row = reporting.get(f"/v1/cases/{case_id}").json()
        columns = reporting.get(f"/v1/cases/{case_id}/ledger").json()
    if view.get("last_seq") != last_seq or row.get("last_seq") != last_seq:
        return None
    return {
        "triage": (view["participants"], view["estimated_amount_yuan"]),
        "ledger": (row["participants"], row["estimated_amount_yuan"]),
        "annex": (columns["participants"], columns["estimated_amount_yuan"]),
        "notify": asyncio.run(notify_figures(settings, case_id)),
    }


def agreed(
    stack: Stack, settings: CommonSettings, triage: httpx.Client, case_id: str, figures: tuple[int, int]
) -> dict[str, Any]:
    def same() -> dict[str, Any] | None:
        last_seq = triage.get(f"/v1/cases/{case_id}").json()["last_seq"]
        seen = everywhere(stack, settings, triage, case_id, last_seq)
        return seen if seen is not None and set(seen.values()) == {figures} else None

    found: dict[str, Any] = wait_until(same, timeout=90, what=f"every service showing {figures}")
    return found


def test_triage_reporting_and_notify_agree_on_the_figures_of_a_linked_then_split_case(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    tag = uuid.uuid4().hex[:8]
    code = credit_code()
    company = {"kind": "company", "name": f"华都康养服务有限公司{tag}", "credit_code": code}
    first = accepted_clue(stack, unique_shop(subject={**company, "address": f"华都路{tag}号"}))["case_id"]
    with reader(stack) as read:
        wait_for_case(read, first, last_seq=2)
        agreed(stack, stack_settings, read, first, (120, 3_000_000))

        second = accepted_clue(
            stack,
            unique_shop(
                source="hotline_12345",
                participants=200,
                estimated_amount_yuan=5_000_000,
                subject={**company, "name": f"华都康养二店{tag}", "address": f"长江东路{tag}号"},
            ),
        )["case_id"]
        # Linked: the case carries both clues' figures, in every service.
        agreed(stack, stack_settings, read, first, (320, 8_000_000))

    with lead_office(stack) as lead, reader(stack) as read:
        split = lead.post(
            f"/v1/cases/{first}/split",
            json={"clue_case_id": second, "reason": "经核实二店独立经营，另案处理。"},
        )
        assert split.status_code == 202, split.text
        # Split off: the first case's figures are its own clue's again; the second shop's case keeps its own.
        agreed(stack, stack_settings, read, first, (120, 3_000_000))
        agreed(stack, stack_settings, read, second, (200, 5_000_000))
