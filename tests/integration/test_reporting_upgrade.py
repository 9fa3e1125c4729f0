"""A projection an older release built is replaced by a rebuild when reporting starts; no case is lost."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


async def active_projection(dsn: str, mark_outdated: bool = False) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        version = await conn.fetchval("SELECT version FROM reporting_meta.active_projection")
        schema = f"ledger_v{version}"
        if mark_outdated:
            await conn.execute(
                "UPDATE reporting_meta.projection_versions SET template_sha256 = 'an-older-template' "
                "WHERE schema_name = $1",
                schema,
            )
        return schema
    finally:
        await conn.close()


def test_an_outdated_projection_is_rebuilt_at_start_up_and_keeps_every_case(stack: Stack) -> None:
    dsn = stack.settings().database_for("reporting")
    clue = {
        "jurisdiction": "340102L01002",  # 史城社区
        "source": "grid_patrol",
        "subject": {"kind": "shop", "name": f"史城康养体验店（{uuid.uuid4().hex[:6]}）"},
        "description": "网格员巡查发现门店以康养服务为名吸收老年人预付款。",
        "participants": 30,
    }
    auditor = stack.token("auditor", "340000")
    with stack.client("intake") as intake, stack.client("reporting", token=auditor) as reporting:
        before = intake.post("/v1/clues", json=clue).json()["case_id"]
        wait_until(lambda: reporting.get(f"/v1/cases/{before}").status_code == 200, what="case in the ledger")
        stack.stop("reporting")
        outdated = asyncio.run(active_projection(dsn, mark_outdated=True))
        after = intake.post(
            "/v1/clues", json={**clue, "subject": {**clue["subject"], "name": clue["subject"]["name"] + "二"}}
        ).json()["case_id"]
        stack.start("reporting")

        rebuilt = wait_until(
            lambda: (schema := asyncio.run(active_projection(dsn))) != outdated and schema,
            timeout=120,
            what="the outdated projection replaced",
        )
        assert rebuilt != outdated
        for case_id in (before, after):
            wait_until(
                lambda case_id=case_id: reporting.get(f"/v1/cases/{case_id}").status_code == 200,
                what=f"case {case_id} in the rebuilt ledger",
            )
