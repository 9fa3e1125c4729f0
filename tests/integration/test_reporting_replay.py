"""Replaying the case log: rebuilding reporting's projection beside the live one, as-of builds, and the
audit of an exported copy of the log, run as an operator runs them (``cluetrail`` subprocesses)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from cluetrail.settings import CommonSettings
from tests.harness import ROOT, Stack, wait_until
from tests.integration.test_reporting_projection import all_in_ledger, post_clues, some_clues, whole_ledger

pytestmark = pytest.mark.integration


def cluetrail(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """Run an operator command against the test stack, with a wide console so lines are not wrapped."""
    return subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", *args],
        env={**stack.env, "COLUMNS": "250"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def all_assessed(reporting: httpx.Client, case_ids: list[str]) -> dict[str, dict[str, Any]] | None:
    rows = all_in_ledger(reporting, case_ids)
    return rows if rows is not None and all(r["grade"] is not None for r in rows.values()) else None


def settled_ledger(reporting: httpx.Client) -> list[dict[str, Any]]:
    """The whole ledger once two successive reads agree (triage has finished reacting)."""
    previous: list[list[dict[str, Any]]] = [[]]

    def unchanged() -> list[dict[str, Any]] | None:
        now = whole_ledger(reporting)
        same = now == previous[0]
        previous[0] = now
        return now if same and now else None

    result: list[dict[str, Any]] = wait_until(unchanged, timeout=120, interval=1.0, what="a settled ledger")
    return result


async def active_version(settings: CommonSettings) -> int:
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        return int(await conn.fetchval("SELECT version FROM reporting_meta.active_projection"))
    finally:
        await conn.close()


async def schemas_differ(settings: CommonSettings, left: str, right: str) -> int:
    """Rows of ledger and history present in one schema and not in the other."""
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        total = 0
        for table in ("ledger", "history", "grade_counts"):
            for a, b in ((left, right), (right, left)):
                total += await conn.fetchval(
                    f'SELECT count(*) FROM (SELECT * FROM "{a}".{table} EXCEPT SELECT * FROM "{b}".{table}) d'
                )
        return total
    finally:
        await conn.close()


def test_rebuild_switches_to_an_identical_ledger_while_the_api_keeps_answering(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    case_ids = post_clues(stack, some_clues(30))
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        wait_until(lambda: all_assessed(reporting, case_ids), timeout=120, what="30 assessed cases")
        before = settled_ledger(reporting)
        version = asyncio.run(active_version(stack_settings))

        answers: list[tuple[int, int]] = []
        done = threading.Event()

        def poll() -> None:
            with stack.client("reporting", token=stack.token("auditor", "340000")) as client:
                while not done.is_set():
                    page = client.get("/v1/cases", params={"limit": 1})
                    one = client.get(f"/v1/cases/{case_ids[0]}")
                    answers.append((page.status_code, page.json().get("total", -1)))
                    answers.append((one.status_code, len(before)))

        poller = threading.Thread(target=poll)
        poller.start()
        try:
            rebuilt = cluetrail(stack, "rebuild")
        finally:
            done.set()
            poller.join()
        assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
        assert f"live projection: ledger_v{version + 1}" in rebuilt.stdout
        assert "events/s" in rebuilt.stdout
        assert asyncio.run(active_version(stack_settings)) == version + 1
        assert answers
        assert all(status == 200 and total >= len(before) for status, total in answers), answers[:5]
        assert whole_ledger(reporting) == before

        again = cluetrail(stack, "rebuild")
        assert again.returncode == 0, again.stdout + again.stderr
        assert whole_ledger(reporting) == before
        assert (
            asyncio.run(schemas_differ(stack_settings, f"ledger_v{version + 1}", f"ledger_v{version + 2}"))
            == 0
        )

        # The live consumer goes on in the new version, from where the rebuild left it.
        (later,) = post_clues(stack, some_clues(1))
        wait_until(
            lambda: all_in_ledger(reporting, [later]), timeout=60, what="a clue posted after the rebuild"
        )
        history = reporting.get(f"/v1/cases/{later}/history").json()
        assert [h["seq"] for h in history] == list(range(1, len(history) + 1))


def test_an_as_of_build_shows_the_ledger_as_it_stood_and_is_not_made_live(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    earlier = post_clues(stack, some_clues(2))
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        wait_until(lambda: all_in_ledger(reporting, earlier), timeout=60, what="the earlier clues")
        instant = datetime.now(UTC)
        (later,) = post_clues(stack, some_clues(1))
        wait_until(lambda: all_in_ledger(reporting, [later]), timeout=60, what="the later clue")
        version = asyncio.run(active_version(stack_settings))

        built = cluetrail(stack, "rebuild", "--as-of", instant.isoformat())
        assert built.returncode == 0, built.stdout + built.stderr
        schema = built.stdout.rsplit("as-of projection:", 1)[1].split()[0]
        assert schema.startswith("ledger_asof_")
        assert asyncio.run(active_version(stack_settings)) == version
        for case_id in earlier:
            assert reporting.get(f"/v1/cases/{case_id}", params={"as_of": schema}).status_code == 200
        assert reporting.get(f"/v1/cases/{later}", params={"as_of": schema}).status_code == 404
        assert reporting.get(f"/v1/cases/{later}").status_code == 200

    refused = cluetrail(stack, "rebuild", "--as-of", "2026-01-01T00:00:00")
    assert refused.returncode != 0
    assert "time zone" in refused.stdout + refused.stderr


def write_lines(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def test_audit_verify_names_the_case_and_seq_of_an_altered_event_in_an_export(
    stack: Stack, tmp_path: Path
) -> None:
    case_ids = post_clues(stack, some_clues(3))
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        wait_until(lambda: all_assessed(reporting, case_ids), timeout=90, what="3 assessed cases")

    export = tmp_path / "case-log.jsonl"
    exported = cluetrail(stack, "log", "export", str(export))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    records = [json.loads(line) for line in export.read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == {"partition", "offset", "key", "timestamp", "headers", "value"} for r in records)
    mine = [r for r in records if r["key"] in case_ids]
    assert {r["value"]["case_id"] for r in mine} == set(case_ids)

    # The whole export: whatever else the log holds, these cases' chains are intact.
    whole = cluetrail(stack, "audit", "verify", "--file", str(export))
    assert not any(case_id in whole.stdout for case_id in case_ids), whole.stdout

    untouched = cluetrail(stack, "audit", "verify", "--file", str(write_lines(tmp_path / "mine.jsonl", mine)))
    assert untouched.returncode == 0, untouched.stdout + untouched.stderr
    assert "broken cases: 0" in untouched.stdout

    target = case_ids[1]
    for record in mine:
        if record["value"]["case_id"] == target and record["value"]["seq"] == 2:
            record["value"]["payload"]["score"] += 1  # one point more on the grade than triage gave
    altered = cluetrail(
        stack, "audit", "verify", "--file", str(write_lines(tmp_path / "altered.jsonl", mine))
    )
    assert altered.returncode == 1, altered.stdout + altered.stderr
    assert f"case {target} seq 2" in altered.stdout
    assert "broken cases: 1" in altered.stdout
    assert not any(case_id in altered.stdout for case_id in case_ids if case_id != target)
