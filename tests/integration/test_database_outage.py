"""While its PostgreSQL server is down, a service answers 503 with a ProblemDetail and ``Retry-After``, on
the same kept-alive connection, and answers as before once the server is back.

It answered a plain-text 500 and dropped the connection. The outage is real: a second intake runs on a
PostgreSQL server of its own (initdb in a temporary directory, on a free port), which is stopped and
started again; the shared server is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cluetrail.service import DATABASE_RETRY_AFTER_SECONDS
from tests.cases import care_company_clue
from tests.harness import ROOT, Stack, free_port, wait_until

pytestmark = pytest.mark.integration


class ThrowawayPostgres:
    """A PostgreSQL server of this test alone: its cluster in a temporary directory, trust auth, on
    127.0.0.1 at a free port, run as ``postgres`` when the tests run as root (initdb refuses root)."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not found:
            pytest.skip("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.home = Path(tempfile.mkdtemp(prefix="cluetrail-outage-"))
        self.data = self.home / "data"
        self.url = f"postgresql://cluetrail:cluetrail@127.0.0.1:{self.port}/cluetrail"

    def _run(self, *command: str) -> None:
        as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*as_owner, *command], check=True, cwd=self.home, capture_output=True, timeout=120)

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.home, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "cluetrail", "--auth=trust", "--no-locale"
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.home}"
        log = str(self.home / "server.log")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


@contextlib.contextmanager
def intake_on_its_own_database(stack: Stack) -> Iterator[tuple[ThrowawayPostgres, str]]:
    server = ThrowawayPostgres()
    tag = uuid.uuid4().hex[:6]
    env = {
        **stack.env,
        "CLUETRAIL_DATABASE_URL": server.url,
        # Topics of its own: in the session's consumer groups it would take partitions from the real intake.
        "CLUETRAIL_TOPIC_PREFIX": f"{stack.env['CLUETRAIL_TOPIC_PREFIX']}-outage{tag}",
        "CLUETRAIL_INTAKE_PORT": str(free_port()),
        "CLUETRAIL_OTEL_EXPORTER": "none",
    }
    url = f"http://127.0.0.1:{env['CLUETRAIL_INTAKE_PORT']}"
    process: subprocess.Popen[bytes] | None = None
    try:
        server.init()
        server.start()
        subprocess.run(
            [sys.executable, "-m", "cluetrail.cli", "stack", "init"], env=env, check=True, cwd=ROOT
        )
        with (stack.workdir / f"intake-outage{tag}.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "services.intake"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

        def ready() -> bool:
            assert process is not None and process.poll() is None, "intake exited"
            try:
                return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=90, what="intake on its own database ready")
        yield server, url
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        server.remove()


def post_clue(conn: http.client.HTTPConnection) -> http.client.HTTPResponse:
    body = json.dumps(care_company_clue(), ensure_ascii=False).encode()
    conn.request("POST", "/v1/clues", body=body, headers={"Content-Type": "application/json"})
    answer = conn.getresponse()
    answer.read()
    return answer


def test_a_database_outage_is_a_503_with_retry_after_on_a_kept_connection(stack: Stack) -> None:
    with intake_on_its_own_database(stack) as (server, url):
        conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
        accepted = post_clue(conn)
        assert accepted.status == 202
        socket_before = conn.sock

        server.stop()
        refusals = []
        for _ in range(3):
            conn.request("POST", "/v1/clues", body=json.dumps(care_company_clue()).encode())
            answer = conn.getresponse()
            refusals.append((answer, json.loads(answer.read())))
            conn.request("GET", "/v1/receipts/0000-0000-0000")
            answer = conn.getresponse()
            refusals.append((answer, json.loads(answer.read())))
        for answer, problem in refusals:
            assert answer.status == 503, problem
            assert answer.getheader("Retry-After") == str(DATABASE_RETRY_AFTER_SECONDS)
            assert answer.getheader("Content-Type") == "application/json"
            assert set(problem) == {"detail", "errors"} and "try again" in problem["detail"]
            assert (answer.getheader("Connection") or "").lower() != "close"
        assert conn.sock is socket_before, "the connection was dropped"

        server.start()
        back = wait_until(
            lambda: (answer := post_clue(conn)).status == 202 and answer,
            timeout=60,
            what="intake accepting clues again once its database is back",
        )
        assert back.status == 202
        conn.close()
