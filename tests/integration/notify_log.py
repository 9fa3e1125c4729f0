"""A notify of its own on topics of its own, fed case events written straight to the case topic.

Some notify behaviours need a deployment the session's stack cannot be: recipients whose systems are down
(a closed port), a database dropped and rebuilt on the same topics, acknowledgement timeouts of seconds.
Each test here starts the real notify process (``python -m services.notify``) on fresh topics and a fresh
database prefix, and writes sealed, chained case events to the case topic as triage would.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel

from cluetrail.kafka import event_headers
from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseEscalated,
    ClosedPayload,
    ClueReported,
    ClueReportedPayload,
    EscalatedPayload,
    KeyCaseFlagged,
    KeyCaseFlaggedPayload,
    PoliceAccepted,
    PoliceAcceptedPayload,
    SealedValue,
    Subject,
    event_bytes,
    seal_event,
)
from contracts.vocabulary import ClueSource, EscalationTarget, Grade, Outcome, SubjectKind
from services.notify.domain.signing import SignatureRefused, secret_of, verify
from tests.cases import DADIAN
from tests.harness import ROOT, Recorded, Stack, WebhookRecorder, wait_until

TRIAGE = Actor(kind="service", id="triage")
OFFICER = Actor(kind="officer", id="officer-yaohai-1", role="district_lead_officer")


class CaseLog:
    """One case's events, sealed into its hash chain as triage writes them."""

    def __init__(self, jurisdiction: str = DADIAN) -> None:
        self.case_id = uuid7()
        self.jurisdiction = jurisdiction
        self.events: list[Envelope] = []

    def add(self, cls: type[Envelope], payload: BaseModel, actor: Actor = TRIAGE) -> Envelope:
        event = seal_event(
            cls,
            case_id=self.case_id,
            seq=len(self.events) + 1,
            prev_hash=self.events[-1].hash if self.events else GENESIS_HASH,
            jurisdiction=self.jurisdiction,
            actor=actor,
            payload=payload,
            correlation_id=self.case_id,
        )
        self.events.append(event)
        return event

    def clue(self, subject: str = "某某财富管理有限公司", amount: int = 150_000_000) -> Envelope:
        self.figures = (420, amount)  # what triage grades the case on (assessed v3)
        return self.add(
            ClueReported,
            ClueReportedPayload(
                source=ClueSource.GRID_PATROL,
                subject=Subject(kind=SubjectKind.COMPANY, name=subject),
                description="门店向老年人推介保本高息理财产品",
                sector="wealth_management",
                estimated_amount_yuan=amount,
                participants=420,
                reporter=SealedValue(key_id="dev-1", nonce="bm9uY2U=", ciphertext="c2VhbGVkLXJlcG9ydGVy"),
                receipt_digest=uuid.uuid4().hex * 2,
            ),
            Actor(kind="reporter", id="anonymous"),
        )

    def assessed(self, key_case: bool) -> Envelope:
        return self.add(
            CaseAssessed,
            AssessedPayload(
                grade=Grade.MAJOR if key_case else Grade.GENERAL,
                score=90 if key_case else 30,
                factors=[],
                rule_set="test",
                key_case=key_case,
                participants=self.figures[0],
                estimated_amount_yuan=self.figures[1],
                responsible_department="财政金融局、人民银行",
            ),
        )

    def escalated(self, target: EscalationTarget, where: str = "340102") -> Envelope:
        return self.add(
            CaseEscalated,
            EscalatedPayload(target=target, target_jurisdiction=where, reason="涉案金额巨大，依规上报"),
            OFFICER,
        )

    def key_case_flagged(self) -> Envelope:
        return self.add(
            KeyCaseFlagged,
            KeyCaseFlaggedPayload(reasons=["amount_over_100m"], supervising_leader="区政府分管副区长"),
            OFFICER,
        )

    def police_accepted(self, accepted_at: datetime) -> Envelope:
        return self.add(
            PoliceAccepted,
            PoliceAcceptedPayload(
                police_case_number=f"瑶公经立字〔{accepted_at.year}〕{len(self.events)}号",
                accepted_at=accepted_at,
                police_jurisdiction="340102",
            ),
            OFFICER,
        )

    def closed(self) -> Envelope:
        return self.add(
            CaseClosed,
            ClosedPayload(outcome=Outcome.FUNDS_RETURNED, summary="资金已清退完毕", recovered_amount_yuan=1),
            OFFICER,
        )


def office(
    rid: str, name: str, role: str, jurisdiction: str, url: str, *events: str | dict[str, Any]
) -> dict[str, Any]:
    """A recipients-file entry reached by webhook, routed the given events (a name or a whole route)."""
    return {
        "id": rid,
        "name": name,
        "role": role,
        "webhook_url": url,
        "secret": secret_of(f"demo-only-{rid}-0123456789".encode()),
        "jurisdiction": jurisdiction,
        "routes": [{"event": e} if isinstance(e, str) else e for e in events],
    }


def reporters(jurisdiction: str = "340000") -> dict[str, Any]:
    """The reporters of the cases in ``jurisdiction``, told through the receipt."""
    receipt = ["receipt"]
    return {
        "id": "anhui-reporters",
        "name": "举报人（经回执）",
        "role": "reporter",
        "secret": secret_of(b"demo-only-anhui-reporters-0123456789"),
        "jurisdiction": jurisdiction,
        "routes": [
            {"event": "escalated", "targets": ["police"], "channels": receipt},
            {"event": "closed", "channels": receipt},
        ],
    }


class OwnNotify:
    """A notify process on topics and a database of its own, and the case topic it reads."""

    def __init__(
        self,
        workdir: Path,
        recipients: list[dict[str, Any]],
        receiver: WebhookRecorder | None = None,
        **env: str,
    ) -> None:
        self.receiver = receiver or WebhookRecorder()
        self.stack = Stack(workdir, self.receiver)
        path = workdir / "own-recipients.json"
        path.write_text(json.dumps({"recipients": recipients}, ensure_ascii=False), encoding="utf-8")
        self.stack.env["CLUETRAIL_NOTIFY_RECIPIENTS_FILE"] = str(path)
        self.stack.env.update(env)
        self.secrets = {r["id"]: r["secret"] for r in recipients}

    @property
    def env(self) -> dict[str, str]:
        return self.stack.env

    def start(self) -> None:
        self.stack.start("notify")

    def stop(self) -> None:
        self.stack.stop("notify")

    def publish(self, *events: Envelope) -> None:
        settings = self.stack.settings()

        async def send() -> None:
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
            )
            await producer.start()
            try:
                for event in events:
                    await producer.send_and_wait(
                        settings.case_topic,
                        event_bytes(event),
                        key=str(event.case_id).encode(),
                        headers=[(k, v.encode()) for k, v in event_headers(event).items()],
                    )
            finally:
                await producer.stop()

        asyncio.run(send())

    def client(self) -> httpx.Client:
        return self.stack.client("notify", token=self.stack.token("auditor", "340000", subject="own-auditor"))

    def deliveries(self, case_id: uuid.UUID) -> list[dict[str, Any]]:
        with self.client() as notify:
            answer = notify.get("/v1/deliveries", params={"case_id": str(case_id), "limit": 1000})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def notices(self, case_id: uuid.UUID) -> list[dict[str, Any]]:
        with self.client() as notify:
            answer = notify.get("/v1/notices", params={"case_id": str(case_id)})
        assert answer.status_code == 200, answer.text
        rows: list[dict[str, Any]] = answer.json()
        return rows

    def verify_notices(self, case_id: uuid.UUID | None = None) -> subprocess.CompletedProcess[str]:
        """``cluetrail notify verify-notices`` against this deployment's notices topic."""
        args = [sys.executable, "-m", "cluetrail.cli", "notify", "verify-notices"]
        if case_id is not None:
            args += ["--case-id", str(case_id)]
        env = {**self.stack.env, "COLUMNS": "250"}
        return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


@contextmanager
def own_notify(
    workdir: Path,
    recipients: list[dict[str, Any]],
    receiver: WebhookRecorder | None = None,
    prepare: Callable[[OwnNotify], None] | None = None,
    **env: str,
) -> Iterator[OwnNotify]:
    """Fresh topics and databases, a receiver of their own (started here), and notify started on them
    (after ``prepare``, e.g. creating the topics MirrorMaker would bring from other regions)."""
    own = OwnNotify(workdir, recipients, receiver, **env)
    own.receiver.start()
    own.stack.mail.start()
    try:
        own.stack.init()
        if prepare is not None:
            prepare(own)
        own.start()
        yield own
    finally:
        own.stack.stop_all()
        own.receiver.stop()


def wait_for_rows(
    own: OwnNotify, case_id: uuid.UUID, predicate: Any, what: str, timeout: float = 120
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = wait_until(
        lambda: (rows := own.deliveries(case_id)) and predicate(rows) and rows, timeout=timeout, what=what
    )
    return rows


def signed_with(secret: str, post: Recorded) -> bool:
    """Whether a recorded webhook verifies with ``secret`` (Standard Webhooks). The tests check posts after
    the fact, some after minutes of outage: an hour's tolerance, where a receiver checking on arrival
    keeps the default 5 minutes."""
    try:
        verify(secret, post.headers, post.body, tolerance_seconds=3600)
    except SignatureRefused:
        return False
    return True


def now() -> datetime:
    return datetime.now(UTC)
