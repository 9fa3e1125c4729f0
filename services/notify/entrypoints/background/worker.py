"""The delivery worker: sends due deliveries, logs each attempt, retries, dead-letters.

Each sender claims one ready delivery (``FOR UPDATE SKIP LOCKED``) and counts the attempt in the same
statement, committed before anything is sent: the delivery log's attempts are true even when notify is
killed during a send (the attempt shows, without an outcome). The claim is a lease: no other sender (of
this or another instance) takes the delivery while it lasts, so none sends it at the same time; the
outcome and the new status are committed together after the send. A sender killed during a send is
replaced once its lease has run out: the notice goes again with the same ``webhook-id``, which the
receiver uses to drop repeats.

A failed attempt is retried with backoff until the retry window has passed since the first failure; the
first success to a recipient brings its other waiting deliveries forward, so a receiver back from an
outage gets everything at once, each case in order. A delivery on the ``receipt`` channel is "sent" by
recording the reporter's notice in the case's notice stream (intake shows it on the receipt).

The worker also runs the dead-letter publisher (``dead_letters``) and the notice publisher (``notices``),
woken with its senders when deliveries come (``wake``), and after a delivery only when it left them
something: a dead delivery's dead letter, a reporter's notice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import httpx
from faststream.kafka import KafkaBroker
from opentelemetry import trace

from cluetrail.db import DATABASE_UNAVAILABLE
from cluetrail.logs import Outage
from cluetrail.settings import CommonSettings
from cluetrail.telemetry import context_from_traceparent
from services.notify.adapters import channels, sending
from services.notify.adapters.channels import Outcome
from services.notify.adapters.notifier import NoticeDecision, Notifier
from services.notify.domain.backoff import RetryPolicy
from services.notify.domain.notice import RECEIPT_FIELDS
from services.notify.domain.recipients import Recipient, RecipientBook
from services.notify.domain.reminders import Clock, SystemClock
from services.notify.entrypoints.background.dead_letters import DeadLetterPublisher
from services.notify.entrypoints.background.loops import Wakeups, repeat
from services.notify.entrypoints.background.notices import NoticePublisher

log = logging.getLogger(__name__)


class DeliveryWorker:
    """Background sender of one notify instance; ``wake()`` after committing new or reopened deliveries."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        broker: KafkaBroker,
        settings: CommonSettings,
        book: RecipientBook,
        policy: RetryPolicy,
        client: httpx.AsyncClient,
        tracer: trace.Tracer,
        senders: int = 4,
        poll_seconds: float = 2.0,
        lease_seconds: float = 60.0,
        smtp: channels.SmtpConfig | None = None,
        sms: channels.SmsGateway | None = None,
        notifier: Notifier | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._notifier = notifier
        # The scheduler's clock: a notice's acknowledgement timeout counts from its delivery on it.
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._smtp = smtp
        self._sms = sms
        self._pool = pool
        self._broker = broker
        self._settings = settings
        self._book = book
        self._policy = policy
        self._client = client
        self._tracer = tracer
        self._senders = senders
        self._poll = poll_seconds
        # Longer than any one send may take (the channels' timeouts): a sender silent past it is dead.
        self._lease = lease_seconds
        self._senders_wakeups = Wakeups()
        self._publishers_wakeups = Wakeups()
        # One outage for all senders: a database outage fails them all, and is logged once.
        self._outage = Outage(log, "sending notify's deliveries")
        self.dead_letters = DeadLetterPublisher(
            pool=pool, broker=broker, settings=settings, notifier=notifier, alerted=self.wake
        )
        self.notices = NoticePublisher(pool=pool, broker=broker, settings=settings)
        self.sent_total = 0

    def wake(self) -> None:
        self._senders_wakeups.wake()
        self._publishers_wakeups.wake()

    async def run(self, stopping: asyncio.Event) -> None:
        """Run the senders, the dead-letter publisher and the notice publisher until ``stopping`` is set;
        a send or a publication in flight is finished, not abandoned."""
        await asyncio.gather(
            *(self._sender(stopping) for _ in range(self._senders)),
            self._publisher(self.dead_letters.publish, "publishing notify's dead letters", stopping),
            self._publisher(self.notices.publish, "publishing notify's notices", stopping),
        )

    async def _publisher(
        self, publish: Callable[[], Awaitable[int]], what: str, stopping: asyncio.Event
    ) -> None:
        async def rest() -> float:
            return self._poll

        await repeat(
            publish,
            wakeup=self._publishers_wakeups.new(),
            stopping=stopping,
            outage=Outage(log, what),
            rest=rest,
            retry_seconds=self._poll,
        )

    async def _sender(self, stopping: asyncio.Event) -> None:
        await repeat(
            self.send_one,
            wakeup=self._senders_wakeups.new(),
            stopping=stopping,
            outage=self._outage,
            rest=self._seconds_until_due,
            retry_seconds=1.0,
        )

    async def _seconds_until_due(self) -> float:
        async with self._pool.acquire() as conn:
            due = await sending.next_due(conn)
        if due is None:
            return self._poll
        wait = (due - datetime.now(UTC)).total_seconds()
        # Already due but not claimable: another sender holds it and will wake us when it is done.
        return self._poll if wait <= 0 else min(wait, self._poll)

    async def send_one(self) -> bool:
        """Claim one delivery and count its attempt (committed), send it, settle it; False when none is
        ready."""
        # Read before the claim: the lease, counted from the database's clock during the claim, ends no
        # sooner than this.
        lease_ends = time.monotonic() + self._lease
        async with self._pool.acquire() as conn:
            row = await sending.claim_due(conn, self._lease)  # committed before the send
        if row is None:
            return False
        for_publishers = await self._attempt(row, lease_ends=lease_ends)
        self._senders_wakeups.wake()  # a later notice of the same case may be ready now
        if for_publishers:
            self._publishers_wakeups.wake()
        return True

    async def _attempt(self, row: asyncpg.Record, *, lease_ends: float) -> bool:
        """Make the attempt ``claim_due`` counted, then record its outcome and the delivery's new status in
        one transaction; whether that left the publishers something (a dead letter, a reporter's notice).
        No connection is held while a receiver answers (nothing is locked, and a database restart meanwhile
        costs the send nothing); the outcome of a send that went out is settled on a connection of its own,
        retried until the lease ends (``_settle_sent``)."""
        delivery_id: uuid.UUID = row["delivery_id"]
        attempts = row["attempts"]
        round_attempts = row["round_attempts"]
        recipient = self._book.get(row["recipient_id"])
        with self._tracer.start_as_current_span(
            f"notify deliver {row['event_type']}",
            context=context_from_traceparent(row["traceparent"]),
            attributes={
                "cluetrail.case_id": str(row["case_id"]),
                "cluetrail.seq": row["seq"],
                "cluetrail.recipient": row["recipient_id"],
                "cluetrail.delivery_id": str(delivery_id),
                "cluetrail.attempt": attempts,
            },
        ) as span:
            if recipient is None:
                # The recipient was removed from the configuration: no retry can help.
                reason = f"recipient {row['recipient_id']} is no longer configured"
                async with self._pool.acquire() as conn, conn.transaction():
                    if not await sending.lock_claimed(conn, delivery_id, attempts):
                        return False
                    await sending.record_outcome(
                        conn, delivery_id, attempts, status_code=None, error=reason, duration_ms=0
                    )
                    await sending.mark_dead(conn, delivery_id, attempts, round_attempts, reason)
                return True
            started = time.monotonic()
            if row["channel"] == "receipt":
                # Recording the reporter's notice is the send: one transaction with its settling.
                async with self._pool.acquire() as conn, conn.transaction():
                    if not await sending.lock_claimed(conn, delivery_id, attempts):
                        return False
                    outcome = await self._send(conn, row, recipient)
                    dead = await self._settle(conn, row, recipient, outcome, started)
                for_publishers = outcome.ok or dead
            else:
                outcome = await self._send(None, row, recipient)
                for_publishers = await self._settle_sent(row, recipient, outcome, started, lease_ends)
            span.set_attribute("cluetrail.delivered", outcome.ok)
            return for_publishers

    async def _settle_sent(
        self, row: asyncpg.Record, recipient: Recipient, outcome: Outcome, started: float, lease_ends: float
    ) -> bool:
        """Settle an attempt that went out to its receiver; whether the delivery died. Should the database
        be away just now (a restart, a failover), the outcome is kept and settled as soon as it is back, for
        as long as the lease lasts: a send whose outcome were dropped would be sent again once the lease ran
        out."""
        pause = 0.2
        while True:
            try:
                dead = False
                async with self._pool.acquire() as conn, conn.transaction():
                    if await sending.lock_claimed(conn, row["delivery_id"], row["attempts"]):
                        dead = await self._settle(conn, row, recipient, outcome, started)
                    else:  # the lease ran out and another sender took over: only this attempt's outcome
                        await self._record(conn, row, outcome, started)
                self._outage.recovered()
                return dead
            except DATABASE_UNAVAILABLE as exc:
                if time.monotonic() + pause >= lease_ends:
                    raise
                self._outage.failed(exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)

    @staticmethod
    async def _record(
        conn: asyncpg.Connection, row: asyncpg.Record, outcome: Outcome, started: float
    ) -> None:
        await sending.record_outcome(
            conn,
            row["delivery_id"],
            row["attempts"],
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=int((time.monotonic() - started) * 1000),
        )

    async def _settle(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        recipient: Recipient,
        outcome: Outcome,
        started: float,
    ) -> bool:
        """Record the outcome of the claimed attempt and move the delivery on: delivered, dead, or due
        again after a backoff; whether it died. The caller holds the row lock (``lock_claimed``)."""
        delivery_id: uuid.UUID = row["delivery_id"]
        attempts = row["attempts"]
        round_attempts = row["round_attempts"]
        await self._record(conn, row, outcome, started)
        ok = outcome.ok
        failure = outcome.error
        if ok:
            await sending.mark_delivered(conn, delivery_id, attempts, round_attempts, self._clock.now())
            await sending.bring_forward(conn, recipient.id, row["channel"])
            self.sent_total += 1
            log.info(
                "delivered %s (%s seq %s) to %s by %s",
                delivery_id,
                row["event_type"],
                row["seq"],
                recipient.id,
                row["channel"],
            )
        elif outcome.permanent or self._policy.exhausted(round_attempts, self._failing_for(row)):
            await sending.mark_dead(conn, delivery_id, attempts, round_attempts, failure or "failed")
            log.warning(
                "delivery %s to %s is dead after %s attempts: %s",
                delivery_id,
                recipient.id,
                round_attempts,
                failure,
            )
            return True
        else:
            delay = self._policy.delay(round_attempts)
            await sending.schedule_retry(
                conn, delivery_id, attempts, round_attempts, delay, failure or "failed"
            )
            log.info(
                "delivery %s to %s failed (%s); retry in %.2fs", delivery_id, recipient.id, failure, delay
            )
        return False

    @staticmethod
    def _failing_for(row: asyncpg.Record) -> float:
        since: datetime | None = row["failing_since"]
        return 0.0 if since is None else (datetime.now(UTC) - since).total_seconds()

    async def _send(
        self, conn: asyncpg.Connection | None, row: asyncpg.Record, recipient: Recipient
    ) -> Outcome:
        """One attempt (``conn``: the transaction a receipt notice is recorded in); anything unexpected
        is this attempt's failure (logged, retried with backoff, dead at the end of the window), never a loop
        that rolls back and claims the same delivery again."""
        try:
            if not row["rendered"]:
                reason = "the notice was never written (its template failed); a resend writes it again"
                return Outcome(False, None, reason, permanent=True)
            if row["channel"] == "receipt":
                assert conn is not None  # a receipt notice is recorded in the settling transaction
                return await self._to_receipt(conn, row, recipient)
            return await channels.send(
                row["channel"],
                recipient=recipient,
                delivery_id=row["delivery_id"],
                body=row["body"],
                client=self._client,
                smtp=self._smtp,
                sms=self._sms,
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("sending delivery %s failed unexpectedly", row["delivery_id"])
            return Outcome(False, None, f"{type(exc).__name__}: {exc}")

    async def _to_receipt(
        self, conn: asyncpg.Connection, row: asyncpg.Record, recipient: Recipient
    ) -> Outcome:
        """Record the reporter's notice in the case's notice stream (published in order by the notice
        publisher, shown on the receipt by intake); once per case event, however often this runs."""
        problem = channels.malformed("receipt", row["body"])
        if problem is not None:
            return Outcome(False, None, problem, permanent=True)
        if self._notifier is None:
            return Outcome(False, None, "no notifier to record the reporter's notice", permanent=True)
        facts = json.loads(row["body"])
        decision = NoticeDecision(
            kind="reporter-update",
            stream=str(row["case_id"]),
            dedupe_key=f"reporter-update/{row['event_id']}",
            jurisdiction=row["jurisdiction"],
            occurred_at=self._clock.now(),
            facts={k: facts[k] for k in RECEIPT_FIELDS if k in facts},
            routings=(),
            listed=(recipient.id,),
            case_id=row["case_id"],
            causation_id=row["event_id"],
        )
        await self._notifier.record(conn, decision)  # the publishers are woken once it is committed
        return Outcome(True, None)
