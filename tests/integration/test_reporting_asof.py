"""Rebuild and as-of replay of the report tables on the running service: a table recorded from the live
projection is what an as-of build for that instant serves, and a rebuild serves the same tables again.

Its clues go to 萌水镇 (3703WCL01); demo clues of other tests may land there too, which changes nothing:
the tables are compared once they have settled."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cluetrail.demo import demo_clues
from services.reporting.domain.periods import Period
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration
MENGSHUI = "3703WCL01"
TABLES = ("ledger", "work", "disposal", "cross_province", "risks", "key_risks")


def cluetrail(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", *args],
        env={**stack.env, "COLUMNS": "250"}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def post(stack: Stack, count: int) -> list[str]:
    clues = demo_clues(count, seed=uuid.uuid4().int % 1_000_000, jurisdictions=[MENGSHUI])
    with stack.client("intake") as intake:
        return [intake.post("/v1/clues", json=clue).json()["case_id"] for clue in clues]


def tables(reporting: httpx.Client, period: str, as_of: str | None = None) -> dict[str, Any]:
    """The tables of 萌水镇 for ``period`` (rows and columns; meta says which version they came from)."""
    params = {"period": period, "jurisdiction": MENGSHUI, **({"as_of": as_of} if as_of else {})}
    out = {}
    for name in TABLES:
        response = reporting.get(f"/v1/reports/{name}", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        out[name] = {"columns": body["columns"], "rows": body["rows"]}
    return out


def settled(reporting: httpx.Client, case_ids: list[str], period: str) -> dict[str, Any]:
    """The tables once every case is graded and two reads a second apart agree (triage is done with them)."""
    previous: list[dict[str, Any] | None] = [None]

    def same_twice() -> dict[str, Any] | None:
        rows = [reporting.get(f"/v1/cases/{c}").json() for c in case_ids]
        if not all(r.get("grade") for r in rows):
            return None
        now = tables(reporting, period)
        stable = now == previous[0]
        previous[0] = now
        return now if stable else None

    result: dict[str, Any] = wait_until(same_twice, timeout=120, interval=1.0, what="settled tables")
    return result


def test_as_of_equals_what_the_live_projection_served_and_rebuilds_agree(stack: Stack) -> None:
    period = str(Period.of(datetime.now(UTC)))
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        first = post(stack, 4)
        recorded = settled(reporting, first, period)
        instant = datetime.now(UTC)
        assert set(first) <= {row["case_id"] for row in recorded["ledger"]["rows"]}

        later = post(stack, 3)
        moved_on = settled(reporting, first + later, period)
        assert set(first + later) <= {row["case_id"] for row in moved_on["ledger"]["rows"]}
        assert moved_on != recorded and set(later).isdisjoint(
            r["case_id"] for r in recorded["ledger"]["rows"]
        )

        built = cluetrail(stack, "rebuild", "--as-of", instant.isoformat())
        assert built.returncode == 0, built.stdout + built.stderr
        schema = built.stdout.rsplit("as-of projection:", 1)[1].split()[0]
        assert tables(reporting, period, as_of=schema) == recorded
        # The instant itself names the same build.
        assert tables(reporting, period, as_of=instant.isoformat()) == recorded

        for _ in range(2):
            rebuilt = cluetrail(stack, "rebuild")
            assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
            assert tables(reporting, period) == moved_on
