"""The reminder scheduler: at each tick, asks the clock what is due and records it as notices.

Monthly reporting deadlines, key cases nearing their 2/3/5-year limits, and notices nobody acknowledged
in time (every escalation to the police or the lead office, every key-case notice) are recorded as
notices with their deliveries: an unacknowledged notice gives a reminder to its recipient, and for a key
case the notice is taken to the next level, which must acknowledge in turn. Each notice's dedupe key
makes the tick idempotent, so several instances and restarts record each reminder once. The clock is
injected, so tests run it on a fixed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

import asyncpg

from cluetrail.logs import Outage
from contracts import labels
from contracts.reporting_calendar import ReportingCalendar, default_calendar
from services.notify.adapters import acknowledgements, cases
from services.notify.adapters.notifier import NoticeDecision, Notifier
from services.notify.domain.notice import case_line
from services.notify.domain.recipients import Recipient, Routing
from services.notify.domain.reminders import (
    Clock,
    Reminder,
    ReportingOffice,
    key_case_reminders,
    reporting_reminders,
)

log = logging.getLogger(__name__)


class Scheduler:
    """Records due reminders; ``tick()`` once, or ``run()`` until stopped."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        notifier: Notifier,
        clock: Clock,
        reporting_lead_days: int = 5,
        key_case_lead_days: int = 30,
        ack_timeout: timedelta = timedelta(hours=24),
        poll_seconds: float = 60.0,
        on_recorded: Callable[[], None] = lambda: None,
        calendar: ReportingCalendar | None = None,
    ) -> None:
        self._pool = pool
        self.calendar = calendar if calendar is not None else default_calendar()
        self._notifier = notifier
        self.clock = clock
        self._reporting_lead = reporting_lead_days
        self._key_case_lead = key_case_lead_days
        self._ack_timeout = ack_timeout
        self._poll = poll_seconds
        self._on_recorded = on_recorded
        self._wakeup = asyncio.Event()
        self._outage = Outage(log, "notify's reminder scheduler")

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Tick every ``poll_seconds`` (or when woken) until ``stopping`` is set; a failing tick is tried
        again at the next one."""
        while not stopping.is_set():
            self._wakeup.clear()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._outage.failed(exc)
            else:
                self._outage.recovered()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), timeout=self._poll)

    async def tick(self) -> int:
        """Record every reminder due now; returns how many notices were recorded by this tick."""
        now = self.clock.now()
        book, registry = self._notifier.book, self._notifier.registry
        recorded = 0
        async with self._pool.acquire() as conn:
            offices = [
                ReportingOffice(r.id, r.jurisdiction, registry.get(r.jurisdiction).level)
                for r in book.with_route("reporting-deadline")
            ]
            for reminder in reporting_reminders(now, offices, self._reporting_lead, self.calendar):
                found = [self._routing(rid, reminder.kind) for rid in reminder.recipients]
                recorded += await self._record(conn, reminder, [r for r in found if r is not None])
            key_cases = await cases.open_key_cases(conn)
            lines = {case.case_id: case_line(case) for case in key_cases}
            for reminder in key_case_reminders(now, key_cases, self._key_case_lead):
                routings = book.routings_of_notice(reminder.kind, reminder.jurisdiction)
                if reminder.case_id is not None:
                    reminder.facts["case_line"] = lines[reminder.case_id]
                recorded += await self._record(conn, reminder, routings, ack=True)
            recorded += await self._unacknowledged(conn)
        if recorded:
            log.info("recorded %s reminder notices at %s", recorded, now.isoformat())
            self._on_recorded()
        return recorded

    def _routing(self, recipient_id: str, kind: str) -> Routing | None:
        recipient = self._notifier.book.get(recipient_id)
        if recipient is None:
            return None
        channels = recipient.channels_for(kind)
        return Routing(recipient, channels) if channels else None

    async def _record(
        self, conn: asyncpg.Connection, reminder: Reminder, routings: list[Routing], *, ack: bool = False
    ) -> int:
        decision = NoticeDecision(
            kind=reminder.kind,
            stream=reminder.stream,
            dedupe_key=reminder.dedupe_key,
            jurisdiction=reminder.jurisdiction,
            occurred_at=self.clock.now(),
            facts=reminder.facts,
            routings=routings,
            case_id=reminder.case_id,
            ack_recipients=frozenset(r.recipient.id for r in routings) if ack else frozenset(),
        )
        async with conn.transaction():
            return 1 if await self._notifier.record(conn, decision) is not None else 0

    async def _unacknowledged(self, conn: asyncpg.Connection) -> int:
        """Notices unacknowledged past the timeout, counted from each one's recorded delivery (so a restart
        or a late tick never moves it): remind the recipient; for a key case, tell the next level."""
        recorded = 0
        book = self._notifier.book
        now = self.clock.now()
        async with conn.transaction():
            rows = await acknowledgements.awaiting_ack(conn, now - self._ack_timeout)
            seen: set[tuple[uuid.UUID, str]] = set()
            for row in rows:
                key = (row["event_id"], row["recipient_id"])
                if key in seen:
                    continue
                seen.add(key)
                recipient = book.get(row["recipient_id"])
                if recipient is not None:
                    recorded += await self._escalate(conn, row, recipient)
                await acknowledgements.mark_ack_escalated(conn, row["event_id"], row["recipient_id"])
        return recorded

    async def _escalate(self, conn: asyncpg.Connection, row: asyncpg.Record, recipient: Recipient) -> int:
        book = self._notifier.book
        case = await cases.load_case(conn, row["case_id"])
        # A notice that itself took an ignored key-case notice up a level is about a key case.
        key_case = (case is not None and case.key_case) or row["event_type"] == "unacknowledged"
        upper = book.next_level(recipient) if key_case else None
        routings = [r for r in (self._routing(recipient.id, "unacknowledged"),) if r is not None]
        if upper is not None:
            channels = upper.channels_for("unacknowledged")
            if channels:
                routings.append(Routing(upper, channels))
        document = json.loads(row["body"])
        hours = self._ack_timeout.total_seconds() / 3600
        case_id: uuid.UUID = row["case_id"]
        decision = NoticeDecision(
            kind="unacknowledged",
            stream=str(case_id),
            dedupe_key=f"unacknowledged/{row['event_id']}/{recipient.id}",
            jurisdiction=row["jurisdiction"],
            occurred_at=self.clock.now(),
            facts={
                "original_delivery_id": str(row["delivery_id"]),
                "original_event_id": str(row["event_id"]),
                "original_kind": row["event_type"],
                "original_kind_label": labels.event_kind(row["event_type"]),
                "original_recipient_id": recipient.id,
                "original_recipient_name": recipient.name,
                # A mail's text ends with its acknowledgement link: that stays the recipient's.
                "original_text": str(document.get("text", "")).split("\n\n通知编号：")[0],
                "hours": int(hours) if hours == int(hours) else round(hours, 2),
                "original_delivered_at": row["delivered_at"].isoformat(),
                "escalated_to": upper.id if upper else None,
            },
            routings=routings,
            case_id=case_id if case is not None else None,
            causation_id=row["delivery_id"],
            # The next level must acknowledge in turn, so an ignored notice keeps climbing.
            ack_recipients=frozenset({upper.id}) if upper is not None else frozenset(),
        )
        return 1 if await self._notifier.record(conn, decision) is not None else 0
