"""Runs the real services against the real Kafka broker and PostgreSQL server for the test session.

Each test session gets its own topic prefix and database prefix, so runs never see each other's data,
and starts the four services once as subprocesses (``python -m services.<name>``), as ``make run`` does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from cluetrail.auth import Principal, Role, issue_token
from cluetrail.settings import CommonSettings

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("intake", "triage", "reporting", "notify")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    predicate: Callable[[], Any], *, timeout: float = 60.0, interval: float = 0.2, what: str = ""
) -> Any:
    """Poll until ``predicate`` returns a truthy value; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate!r} (last: {last!r})")


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    # When it arrived (time.monotonic()), to tell a repeat sent across a crash from any other.
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookRecorder:
    """A real HTTP receiver standing in for the police, lead office and other regions' systems."""

    port: int = field(default_factory=free_port)
    received: list[Recorded] = field(default_factory=list)
    failing: bool = False
    attempts: int = 0
    # Keep each sender's connection open between requests, as the receivers it stands in for do (HTTP/1.1).
    # Off for the tests: a connection kept open would still be answered after ``stop``.
    keep_alive: bool = False

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if self.keep_alive else "HTTP/1.0"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                recorder.attempts += 1
                if recorder.failing:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                recorder.received.append(Recorded(self.path, dict(self.headers.items()), body))
                answer = b'{"ok":true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Recorded]:
        return [r for r in self.received if r.path == path]


@dataclass
class MailRecorder:
    """A real SMTP server (aiosmtpd) standing in for the offices' mail; refuses the ``refused`` addresses."""

    port: int = field(default_factory=free_port)
    received: list[EmailMessage] = field(default_factory=list)
    refused: set[str] = field(default_factory=set)

    def start(self) -> None:
        recorder = self

        class Handler:
            async def handle_RCPT(
                self, server: Any, session: Any, envelope: Any, address: str, options: Any
            ) -> str:
                if address in recorder.refused:
                    return "550 5.1.1 mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.content, policy=default_policy)
                recorder.received.append(message)
                return "250 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in list(self.received) if m["To"] == address]


class Stack:
    """The four services of one test session, on fresh topics and databases."""

    def __init__(
        self,
        workdir: Path,
        recorder: WebhookRecorder,
        *,
        tag: str | None = None,
        region: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """``tag`` names the topics and databases (a new one by default); the stacks of several regions
        share their tag, as regions share topic names, and keep databases of their own (``region``)."""
        self.workdir = workdir
        self.recorder = recorder
        self.mail = MailRecorder()
        self.tag = tag or uuid.uuid4().hex[:8]
        self.region = region
        self.ports = {name: free_port() for name in SERVICES}
        databases = f"test_{self.tag}" + (f"_{region.replace('-', '_')}" if region else "")
        self.env = {
            **os.environ,
            # A developer's machine: the development keys, secrets and database password are allowed.
            "CLUETRAIL_ENVIRONMENT": "local",
            "CLUETRAIL_TOPIC_PREFIX": f"test-{self.tag}",
            "CLUETRAIL_DATABASE_PREFIX": databases,
            "CLUETRAIL_OTEL_EXPORTER": "console",
            "CLUETRAIL_NOTIFY_RECIPIENTS_FILE": str(self._write_recipients()),
            "CLUETRAIL_NOTIFY_RETRY_BASE_SECONDS": "0.2",
            # A receiver back from an outage is reached within a second, not the default five minutes.
            "CLUETRAIL_NOTIFY_RETRY_MAX_SECONDS": "1",
            "CLUETRAIL_NOTIFY_SMTP_HOST": "127.0.0.1",
            "CLUETRAIL_NOTIFY_SMTP_PORT": str(self.mail.port),
            "CLUETRAIL_NOTIFY_SMS_GATEWAY_URL": recorder.url("/sms-gateway"),
            # Write-offs can be tested end to end; the quiet-period rule itself is unit-tested.
            "CLUETRAIL_TRIAGE_WRITE_OFF_QUIET_DAYS": "0",
            "PYTHONUNBUFFERED": "1",
        }
        for name, port in self.ports.items():
            self.env[f"CLUETRAIL_{name.upper()}_PORT"] = str(port)
        self.env["CLUETRAIL_TRIAGE_NOTIFY_URL"] = self.url("notify")
        if region is not None:
            self.env["CLUETRAIL_REGION"] = region
        self.env.update(env or {})
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def _write_recipients(self) -> Path:
        """Every recipient of the demo routing, pointed at the recorder (path = recipient id)."""
        source = json.loads((ROOT / "deploy" / "notify" / "recipients.json").read_text(encoding="utf-8"))
        for recipient in source["recipients"]:
            recipient["webhook_url"] = self.recorder.url(f"/{recipient['id']}")
        path = self.workdir / "recipients.json"
        path.write_text(json.dumps(source, ensure_ascii=False), encoding="utf-8")
        return path

    def spans_file(self, name: str) -> Path:
        return self.workdir / f"spans-{name}.jsonl"

    def log_file(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def init(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "cluetrail.cli", "stack", "init"], env=self.env, check=True, cwd=ROOT
        )

    def start(self, name: str, timeout: float = 90.0) -> None:
        env = {**self.env, "CLUETRAIL_OTEL_CONSOLE_FILE": str(self.spans_file(name))}
        log = self.log_file(name).open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", f"services.{name}"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready(name, timeout)

    def wait_ready(self, name: str, timeout: float = 90.0) -> None:
        def ready() -> bool:
            process = self.processes[name]
            if process.poll() is not None:
                tail = self.log_file(name).read_text(errors="replace")[-3000:]
                raise AssertionError(f"{name} exited with {process.returncode}:\n{tail}")
            try:
                return httpx.get(f"{self.url(name)}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=timeout, interval=0.3, what=f"{name} ready")

    def stop(self, name: str, *, kill: bool = False) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def start_all(self) -> None:
        self.mail.start()
        self.init()
        for name in SERVICES:
            self.start(name)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)
        if hasattr(self.mail, "_controller"):
            self.mail.stop()

    def settings(self) -> CommonSettings:
        """Settings as the services see them (same topics, databases and secrets)."""
        env = {k[len("CLUETRAIL_") :].lower(): v for k, v in self.env.items() if k.startswith("CLUETRAIL_")}
        return CommonSettings.model_validate(
            {k: v for k, v in env.items() if k in CommonSettings.model_fields}
        )

    def token(
        self, role: str, jurisdiction: str, subject: str = "test-officer", department: str | None = None
    ) -> str:
        """A signed access token for a user of ``role`` at ``jurisdiction``."""
        principal = Principal(
            subject=subject, role=Role(role), jurisdiction=jurisdiction, department=department
        )
        return issue_token(self.settings(), principal)

    def client(self, name: str, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url(name), timeout=30, headers=headers)
