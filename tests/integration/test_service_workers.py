"""Several worker processes of each service on one port (CLUETRAIL_WORKERS=2 for all four, so triage,
reporting and notify run as two replicas of each consumer): every clue reaches the ledger once, and an
intake worker killed with SIGKILL is replaced while the other answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.cases import unique_shop
from tests.harness import ROOT, Stack, WebhookRecorder, free_port, wait_until
from tests.processes import connections_held, listening, workers_of

pytestmark = pytest.mark.integration


def two_workers(stack: Stack, other_than: set[int] | None = None) -> set[int] | None:
    found = workers_of(stack, "intake")
    return found if len(found) == 2 and found != other_than else None


def test_intake_with_two_workers_answers_from_both_and_survives_one_killed(
    recorder: WebhookRecorder, tmp_path: Path
) -> None:
    stack = Stack(tmp_path, recorder, env={"CLUETRAIL_WORKERS": "2", "CLUETRAIL_OTEL_EXPORTER": "none"})
    try:
        stack.start_all()
        before = wait_until(lambda: two_workers(stack), timeout=60, what="two intake workers")
        port = stack.ports["intake"]
        wait_until(lambda: listening(port) == 2, timeout=60, what="both intake workers listening")
        # Connections a client opens together are spread over both workers (a socket each), not all
        # taken by the worker that woke first; all sixteen on one would happen once in 30,000 runs.
        clients = [httpx.Client(base_url=stack.url("intake"), timeout=30) for _ in range(16)]
        try:
            with ThreadPoolExecutor(len(clients)) as pool:
                assert set(pool.map(lambda client: client.get("/healthz").status_code, clients)) == {200}
            held = {pid: connections_held(pid, port) for pid in before}
            assert sum(held.values()) == 16 and all(held.values()), held
        finally:
            for client in clients:
                client.close()

        def post(_: int) -> str:
            with stack.client("intake") as intake:
                answer = intake.post(
                    "/v1/clues", json=unique_shop(), headers={"Idempotency-Key": str(uuid.uuid4())}
                )
            assert answer.status_code == 202, answer.text
            return str(answer.json()["case_id"])

        with ThreadPoolExecutor(8) as pool:
            case_ids = list(pool.map(post, range(40)))
        os.kill(next(iter(before)), signal.SIGKILL)
        with ThreadPoolExecutor(8) as pool:
            case_ids += list(pool.map(post, range(20)))  # the other worker answers meanwhile
        after = wait_until(
            lambda: two_workers(stack, other_than=before), timeout=60, what="the killed worker replaced"
        )
        assert len(after & before) == 1
        token = stack.token("auditor", "340000")
        with httpx.Client(base_url=stack.url("reporting"), timeout=30) as reporting:
            reporting.headers["Authorization"] = f"Bearer {token}"

            def all_there() -> bool:
                return all(reporting.get(f"/v1/cases/{c}").status_code == 200 for c in case_ids)

            wait_until(all_there, timeout=120, what="every clue in the ledger")
            assert reporting.get("/v1/cases", params={"limit": 1}).json()["total"] == len(set(case_ids)) == 60
    finally:
        stack.stop_all()


def test_a_second_process_under_the_same_instance_id_does_not_start(
    recorder: WebhookRecorder, tmp_path: Path
) -> None:
    stack = Stack(
        tmp_path, recorder, env={"CLUETRAIL_INSTANCE_ID": "triage-0", "CLUETRAIL_OTEL_EXPORTER": "none"}
    )
    try:
        stack.init()
        stack.start("triage")
        second = subprocess.run(
            [sys.executable, "-m", "services.triage"],
            env={**stack.env, "CLUETRAIL_TRIAGE_PORT": str(free_port())},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert second.returncode != 0
        assert "runs as instance triage-0 (CLUETRAIL_INSTANCE_ID)" in second.stdout + second.stderr
        assert stack.processes["triage"].poll() is None  # the first goes on
    finally:
        stack.stop_all()
