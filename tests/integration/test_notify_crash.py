"""notify killed (kill -9) while a receiver holds its POST: the attempt it was making is counted all the
same, and once notify is back the notice goes again under the same delivery id.

瑶海区处非办's system takes the closing of a case in 大店社区 and does not answer; notify is killed meanwhile.
The delivery log then shows two attempts, the first without an outcome, not one.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from contracts.vocabulary import EscalationTarget
from tests.harness import Recorded, WebhookRecorder, wait_until
from tests.integration.notify_log import CaseLog, office, own_notify, wait_for_rows

pytestmark = pytest.mark.integration


class HoldingRecorder(WebhookRecorder):
    """Holds the first POST unanswered until ``release`` (the sender is killed meanwhile), answers the
    others at once."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    def start(self) -> None:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.received.append(Recorded(self.path, dict(self.headers.items()), body))
                if not recorder.holding.is_set():
                    recorder.holding.set()
                    recorder.release.wait(timeout=60)
                    return  # the sender is gone: nobody reads an answer
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        super().stop()


def test_an_attempt_cut_short_by_kill_9_is_counted(tmp_path: Path) -> None:
    receiver = HoldingRecorder()
    recipients = [
        office(
            "yaohai-lead-office",
            "瑶海区处非办",
            "lead_office",
            "340102",
            receiver.url("/yaohai-lead-office"),
            {"event": "escalated", "targets": ["lead_office"]},
        )
    ]
    # A short send timeout keeps the claim's lease (3 × timeout + 5 s) short: the restarted notify takes
    # the delivery over once the lease of the killed one has run out.
    with own_notify(tmp_path, recipients, receiver, CLUETRAIL_NOTIFY_SEND_TIMEOUT_SECONDS="2") as own:
        case = CaseLog()
        case.clue()
        case.assessed(key_case=False)
        case.escalated(EscalationTarget.LEAD_OFFICE)
        own.publish(*case.events)
        assert receiver.holding.wait(timeout=90), "the escalation never reached the receiver"
        own.stack.stop("notify", kill=True)
        receiver.release.set()
        own.start()
        rows = wait_for_rows(
            own,
            case.case_id,
            lambda rows: rows[0]["status"] == "delivered",
            "the escalation delivered by the restarted notify",
        )
        with own.client() as notify:
            detail = notify.get(f"/v1/deliveries/{rows[0]['delivery_id']}").json()
    assert rows[0]["attempts"] == 2
    assert [(a["attempt"], a["settled"], a["status_code"]) for a in detail["attempt_log"]] == [
        (1, False, None),
        (2, True, 200),
    ]
    ids = {p.headers["X-Cluetrail-Delivery"] for p in wait_until(lambda: receiver.received[:2])}
    assert ids == {rows[0]["delivery_id"]}
