"""Rebuild and as-of replay of the report tables on the running service: a table recorded from the live
projection is what an as-of build for that instant serves — built by `cluetrail rebuild --as-of` or
requested over HTTP (POST /v1/projections/as-of) — and a rebuild serves the same tables again.

Its clues go to 萌水镇 (3703WCL01); demo clues of other tests may land there too, which changes nothing:
the tables are compared once they have settled."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest

from cluetrail.demo import demo_clues
from cluetrail.settings import CommonSettings
from services.reporting.adapters.versions import asof_schema, build_lock_name
from services.reporting.domain.periods import Period
from tests.commands import cluetrail
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration
MENGSHUI = "3703WCL01"
TABLES = ("ledger", "work", "disposal", "cross_province", "risks", "key_risks", "no_fundraising", "deadlines",
          "ageing")  # fmt: skip


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


def test_an_as_of_projection_requested_over_http_serves_the_tables_as_they_stood(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """An auditor asks for the projection as of an instant; a month 萌水镇 submitted after that instant is
    served as submitted live, and as computed (not yet submitted) as of the instant."""
    now = datetime.now(UTC)
    period, previous = str(Period.of(now)), str(Period.of(now).previous())
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        cases = post(stack, 3)
        recorded = settled(reporting, cases, period)
        recorded_previous = reporting.get(
            "/v1/reports/work", params={"period": previous, "jurisdiction": MENGSHUI}
        ).json()
        instant = datetime.now(UTC)
        post(stack, 2)
        with stack.client("reporting", token=stack.token("street_officer", MENGSHUI)) as office:
            sent = office.post("/v1/reports/submissions", json={"period": previous})
            assert sent.status_code == 202, sent.text
        assert reporting.get(
            "/v1/reports/work", params={"period": previous, "jurisdiction": MENGSHUI}
        ).json()["meta"]["submitted"]

        requested = reporting.post("/v1/projections/as-of", json={"as_of": instant.isoformat()})
        assert requested.status_code == 202, requested.text
        schema = asof_schema(instant)
        assert requested.json()["schema"] == schema
        assert requested.headers["location"] == f"/v1/projections/as-of/{schema}"
        status = wait_until(
            lambda: (s := reporting.get(requested.headers["location"]).json())["state"] != "building" and s,
            timeout=300,
            interval=1.0,
            what="the as-of build finished",
        )
        assert status["state"] == "ready", status
        assert status["requested_by"] == "test-officer" and status["events"] > 0
        assert tables(reporting, period, as_of=schema) == recorded
        as_of_previous = reporting.get(
            "/v1/reports/work", params={"period": previous, "jurisdiction": MENGSHUI, "as_of": schema}
        ).json()
        assert as_of_previous["meta"]["submitted"] is False
        assert as_of_previous["rows"] == recorded_previous["rows"]

        # Asked again: built already (200), the same status.
        again = reporting.post("/v1/projections/as-of", json={"as_of": instant.isoformat()})
        assert again.status_code == 200 and again.json()["state"] == "ready"
        # The instant names it too.
        assert reporting.get(f"/v1/projections/as-of/{instant.isoformat()}").json()["schema"] == schema


def test_as_of_requests_are_refused_with_reasons(stack: Stack, stack_settings: CommonSettings) -> None:
    with stack.client("reporting", token=stack.token("street_officer", MENGSHUI)) as office:
        refused = office.post("/v1/projections/as-of", json={"as_of": datetime.now(UTC).isoformat()})
        assert refused.status_code == 403
    with stack.client("reporting", token=stack.token("district_lead_officer", "340102")) as lead:
        future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        assert "has not passed" in lead.post("/v1/projections/as-of", json={"as_of": future}).json()["detail"]
        naive = lead.post("/v1/projections/as-of", json={"as_of": "2026-01-01T00:00:00"})
        assert naive.status_code == 422
        never = lead.get("/v1/projections/as-of/2001-01-01T00:00:00+08:00")
        assert never.status_code == 404 and "POST /v1/projections/as-of" in never.json()["detail"]
        assert lead.get("/v1/reports/work", params={"as_of": "2001-01-01T00:00:00+08:00"}).status_code == 404

        # While another session builds the same instant, a request is refused with 409 naming it, and so
        # is the operator's command; once it is done, the request is taken. (The instant follows a clue
        # in the ledger: an instant before the log's first event is refused, see below.)
        (clue,) = post(stack, 1)
        with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
            wait_until(lambda: auditor.get(f"/v1/cases/{clue}").status_code == 200, what="a clue of 萌水镇")
        instant = datetime.now(UTC)
        lock = build_lock_name(asof_schema(instant))

        async def held() -> asyncpg.Connection:
            conn = await asyncpg.connect(stack_settings.database_for("reporting"))
            await conn.execute("SET application_name = 'another build'")
            await conn.execute("SELECT pg_advisory_lock(hashtext($1))", lock)
            return conn

        loop = asyncio.new_event_loop()
        holder = loop.run_until_complete(held())
        try:
            busy = lead.post("/v1/projections/as-of", json={"as_of": instant.isoformat()})
            assert busy.status_code == 409, busy.text
            assert "is running already" in busy.json()["detail"] and "another build" in busy.json()["detail"]
            cli = cluetrail(stack, "rebuild", "--as-of", instant.isoformat())
            assert cli.returncode == 3, cli.stdout + cli.stderr
            assert "is running already" in cli.stdout
        finally:
            loop.run_until_complete(holder.close())
            loop.close()
        taken = lead.post("/v1/projections/as-of", json={"as_of": instant.isoformat()})
        assert taken.status_code == 202, taken.text
        schema = taken.json()["schema"]
        wait_until(
            lambda: lead.get(f"/v1/projections/as-of/{schema}").json()["state"] == "ready",
            timeout=300,
            interval=1.0,
            what="the as-of build finished",
        )

        # A projection whose build stopped half-way is not read: its status says so.
        async def mark(state: str) -> None:
            conn = await asyncpg.connect(stack_settings.database_for("reporting"))
            try:
                await conn.execute(
                    "UPDATE reporting_meta.projection_versions SET state = $2 WHERE schema_name = $1",
                    schema,
                    state,
                )
            finally:
                await conn.close()

        asyncio.run(mark("building"))
        try:
            unfinished = lead.get("/v1/reports/work", params={"as_of": schema})
            assert unfinished.status_code == 409 and "is being built" in unfinished.json()["detail"]
            assert lead.get(f"/v1/projections/as-of/{schema}").json()["state"] == "interrupted"
        finally:
            asyncio.run(mark("ready"))


def kept(stack: Stack) -> list[str]:
    """The as-of projections `cluetrail as-of list` shows, the first to go first."""
    listed = cluetrail(stack, "as-of", "list")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return re.findall(r"ledger_asof_[0-9a-z]+", listed.stdout)


def test_as_of_instants_outside_the_log_are_refused_and_old_projections_go(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """An instant before the case log's first event is refused (422 naming the rule; the command exits 2);
    a build over the quota drops the first to go, and `cluetrail as-of prune` drops the expired ones."""
    (clue,) = post(stack, 1)
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        wait_until(lambda: auditor.get(f"/v1/cases/{clue}").status_code == 200, what="a clue of 萌水镇")
        early = auditor.post("/v1/projections/as-of", json={"as_of": "2001-01-01T00:00:00+08:00"})
        assert early.status_code == 422, early.text
        assert "before the case log began" in early.json()["detail"]
        assert early.json()["errors"] == [{"rule": "reporting.as-of-within-log"}]
        cli = cluetrail(stack, "rebuild", "--as-of", "2001-01-01T00:00:00+08:00")
        assert cli.returncode == 2 and "before the case log began" in cli.stdout + cli.stderr

        # Requested over HTTP, a build says what it dropped to make room (nothing here).
        first = datetime.now(UTC)
        taken = auditor.post("/v1/projections/as-of", json={"as_of": first.isoformat()})
        assert taken.status_code == 202 and taken.json()["dropped"] == [], taken.text
        wait_until(
            lambda: auditor.get(taken.headers["location"]).json()["state"] == "ready",
            timeout=300,
            interval=1.0,
            what="the as-of build finished",
        )

    # One more than the quota allows: the first to go is dropped, the count stays.
    before = kept(stack)
    assert asof_schema(first) in before
    later = datetime.now(UTC)
    built = subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", "rebuild", "--as-of", later.isoformat()],
        env={**stack.env, "COLUMNS": "250", "CLUETRAIL_AS_OF_KEEP": str(len(before))},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    assert "as-of projections dropped (quota, age)" in built.stdout and before[0] in built.stdout
    after = kept(stack)
    assert len(after) == len(before) and before[0] not in after and asof_schema(later) in after

    # Built 40 days ago: past the maximum age (30 days), `cluetrail as-of prune` drops it.
    async def age(schema: str) -> None:
        conn = await asyncpg.connect(stack_settings.database_for("reporting"))
        try:
            await conn.execute(
                "UPDATE reporting_meta.projection_versions SET built_at = now() - interval '40 days' "
                "WHERE schema_name = $1",
                schema,
            )
        finally:
            await conn.close()

    asyncio.run(age(asof_schema(later)))
    pruned = cluetrail(stack, "as-of", "prune")
    assert pruned.returncode == 0, pruned.stdout + pruned.stderr
    assert f"dropped {asof_schema(later)}" in pruned.stdout
    assert kept(stack) == [s for s in after if s != asof_schema(later)]
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        assert auditor.get(f"/v1/projections/as-of/{asof_schema(later)}").status_code == 404
