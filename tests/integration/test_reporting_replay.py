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
import pytest

from cluetrail.settings import CommonSettings
from contracts.envelope import canonical_bytes, compute_hash, uuid7
from services.reporting.adapters.versions import LIVE_BUILD
from tests.cases import dead_letters_for
from tests.commands import cluetrail
from tests.harness import ROOT, Stack, wait_until
from tests.integration.ledger import (
    active_version,
    all_assessed,
    all_in_ledger,
    post_clues,
    publish_raw,
    schemas_differ,
    settled_ledger,
    some_clues,
    whole_ledger,
)

pytestmark = pytest.mark.integration


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


def test_a_second_rebuild_is_refused_while_one_is_running(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """Two rebuilds would pick the same next version and drop each other's half-built schema: while one
    holds the rebuild lock (here a session standing in for it), `cluetrail rebuild` is refused with exit
    status 3 naming that session, and the live version stays where it was."""
    version = asyncio.run(active_version(stack_settings))

    async def held() -> asyncpg.Connection:
        conn = await asyncpg.connect(stack_settings.database_for("reporting"))
        await conn.execute("SET application_name = 'cluetrail rebuild'")
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", LIVE_BUILD)
        return conn

    loop = asyncio.new_event_loop()
    holder = loop.run_until_complete(held())
    try:
        pid = loop.run_until_complete(holder.fetchval("SELECT pg_backend_pid()"))
        refused = cluetrail(stack, "rebuild")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert "a rebuild of the live projection is running already" in refused.stdout
        assert f"PostgreSQL session {pid}, cluetrail rebuild" in refused.stdout
        assert asyncio.run(active_version(stack_settings)) == version
    finally:
        loop.run_until_complete(holder.close())
        loop.close()
    rebuilt = cluetrail(stack, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert asyncio.run(active_version(stack_settings)) == version + 1


def test_two_rebuilds_started_together_build_one_version(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    version = asyncio.run(active_version(stack_settings))
    command = [sys.executable, "-m", "cluetrail.cli", "rebuild"]
    env = {**stack.env, "COLUMNS": "250"}
    running = [
        subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in running]
    outcomes = sorted(zip((p.returncode for p in running), outputs, strict=True))
    codes = [code for code, _ in outcomes]
    # Either the second found the lock taken (3), or it started after the first had finished (0).
    assert codes in ([0, 0], [0, 3]), outcomes
    assert asyncio.run(active_version(stack_settings)) == version + codes.count(0)
    assert asyncio.run(existing_versions(stack_settings)) <= {
        version + codes.count(0),
        version + codes.count(0) - 1,
    }


async def existing_versions(settings: CommonSettings) -> set[int]:
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        names = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname ~ '^ledger_v[0-9]+$'")
        return {int(r["nspname"][len("ledger_v") :]) for r in names}
    finally:
        await conn.close()


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


def test_audit_verify_on_the_live_topic_names_an_altered_event(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    """A record whose content was changed after it was sealed is put on the session's case topic (as a
    writer with access to the broker could): `cluetrail audit verify` reading the topic names its case,
    seq and event id; the consumers dead-letter it."""
    (case_id,) = post_clues(stack, some_clues(1))
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        wait_until(lambda: all_assessed(reporting, [case_id]), timeout=90, what="the case assessed")
        settled_ledger(reporting)
        events = reporting.get(f"/v1/cases/{case_id}/events").json()
    last = events[-1]
    forged = {**last, "event_id": str(uuid7()), "seq": last["seq"] + 1, "prev_hash": last["hash"]}
    forged["hash"] = compute_hash(forged)
    forged["actor"] = {**forged["actor"], "id": "someone-else"}  # changed after it was sealed
    asyncio.run(publish_raw(stack_settings, case_id.encode(), canonical_bytes(forged)))

    audited = cluetrail(stack, "audit", "verify")
    assert audited.returncode == 1, audited.stdout + audited.stderr
    assert (
        f"case {case_id} seq {forged['seq']} event {forged['event_id']}: "
        "hash does not match the event's content (altered after it was written)"
    ) in audited.stdout
    letters = wait_until(
        lambda: asyncio.run(dead_letters_for(stack_settings, case_id, "reporting")),
        timeout=60,
        what="reporting's dead letter for the altered record",
    )
    assert "altered" in letters[0]["reason"]
