"""The notifier: records notify's own notices (the notice, hash-chained in its stream, and its deliveries in
one transaction; the notice publisher puts them on the notices topic, in stream order) and writes the body
of a delivery, from a case event or a notice, on first decision and again on a resend.

A notice is written before anyone is told, so the audit record holds every reminder and alert even if
no recipient is reachable; its ``dedupe_key`` makes a decision happen once however often it is taken,
and travels in the notice, so a notify database rebuilt from the topic knows what was decided.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from contracts.envelope import Envelope
from contracts.events import read_event
from contracts.jurisdictions import JurisdictionRegistry
from contracts.notices import Notice, seal_notice
from services.notify.adapters import deliveries, notices
from services.notify.adapters.deliveries import NewDelivery, delivery_id_for
from services.notify.domain.cases import CaseFacts, facts_from_document
from services.notify.domain.notice import (
    TemplateError,
    Templates,
    beijing_time,
    channel_message,
    notice_body,
    notice_labels,
    place_name,
    render_notice,
    reporter_document,
)
from services.notify.domain.recipients import Recipient, RecipientBook, Routing
from services.notify.domain.signing import ack_token, renew_token

# Deliveries need a case id to queue by; a notice about no case queues under its stream's own id.
STREAM_NAMESPACE = uuid.UUID("6f0c5a36-3a0b-4d7e-9f55-1c2f2b0c7a11")


def stream_case_id(stream: str, case_id: uuid.UUID | None) -> uuid.UUID:
    return case_id or uuid.uuid5(STREAM_NAMESPACE, stream)


@dataclass(frozen=True)
class NoticeDecision:
    """A notice to record and whom to tell of it."""

    kind: str
    stream: str
    dedupe_key: str
    jurisdiction: str
    occurred_at: datetime
    facts: dict[str, Any]
    routings: Sequence[Routing]
    case_id: uuid.UUID | None = None
    causation_id: uuid.UUID | None = None
    # Recipients that must acknowledge; unacknowledged, they are reminded (and for a key case, the next
    # level is told).
    ack_recipients: frozenset[str] = frozenset()
    # Recipients the notice names that notify does not send it to (a reporter: the notice is the message).
    listed: Sequence[str] = ()


class RenderRefused(ValueError):
    """A delivery's notice still cannot be written (its template fails), so it is not sent again."""


@dataclass(frozen=True)
class Notifier:
    """What recording a notice needs: the recipients, the places, the templates, the ack link base."""

    book: RecipientBook
    registry: JurisdictionRegistry
    templates: Templates
    public_url: str
    # How long an acknowledgement link works from the moment its notice is written (or resent).
    ack_valid_for: timedelta = timedelta(days=30)

    def ack_token(self, recipient: Recipient, delivery_id: uuid.UUID) -> str:
        """A token acknowledging ``delivery_id`` until ``ack_valid_for`` from now, made with the
        recipient's first (newest) secret."""
        expires_at = int(time.time() + self.ack_valid_for.total_seconds())
        return ack_token(recipient.secrets[0], str(delivery_id), expires_at)

    def ack_url(self, recipient: Recipient, delivery_id: uuid.UUID) -> str:
        token = self.ack_token(recipient, delivery_id)
        return f"{self.public_url}/v1/deliveries/{delivery_id}/ack?token={token}"

    def renew_ack(self, row: asyncpg.Record) -> str | None:
        """The stored body of a delivery with a fresh acknowledgement link (a resend's link works another
        ``ack_valid_for``), or None when it has none to renew."""
        recipient = self.book.get(row["recipient_id"])
        if recipient is None or not row["needs_ack"] or not row["rendered"]:
            return None
        body: str = row["body"]
        renewed = renew_token(body, self.ack_token(recipient, row["delivery_id"]))
        return renewed if renewed != body else None

    def event_body(
        self,
        event: Envelope,
        facts: CaseFacts | None,
        recipient: Recipient,
        channel: str,
        delivery_id: uuid.UUID,
        needs_ack: bool,
    ) -> str:
        """The body sent to ``recipient`` on ``channel`` for case event ``event``; ``TemplateError`` when
        its template fails."""
        if channel == "receipt":
            document = reporter_document(event, self.templates)
        else:
            document = render_notice(event, recipient, self.registry, delivery_id, self.templates, facts)
            if needs_ack:
                document["acknowledge_url"] = self.ack_url(recipient, delivery_id)
        return channel_message(channel, recipient, document).body

    async def record(
        self, conn: asyncpg.Connection, decision: NoticeDecision, traceparent: str | None = None
    ) -> Notice | None:
        """Record the notice and its deliveries unless it was recorded before; call in a transaction."""
        head = await notices.lock_head(conn, decision.stream)
        if await notices.is_recorded(conn, decision.dedupe_key):
            return None
        notice = seal_notice(
            kind=decision.kind,
            stream=decision.stream,
            seq=head["last_seq"] + 1,
            prev_hash=head["last_hash"],
            jurisdiction=decision.jurisdiction,
            occurred_at=decision.occurred_at,
            recipients=[r.recipient.id for r in decision.routings] + list(decision.listed),
            facts=decision.facts,
            case_id=decision.case_id,
            causation_id=decision.causation_id,
            dedupe_key=decision.dedupe_key,
        )
        await notices.append(conn, notice, decision.dedupe_key)
        for routing in decision.routings:
            for channel in routing.channels:
                needs_ack = routing.recipient.id in decision.ack_recipients
                await self._deliver(conn, notice, routing.recipient, channel, traceparent, needs_ack)
        return notice

    async def _deliver(
        self,
        conn: asyncpg.Connection,
        notice: Notice,
        recipient: Recipient,
        channel: str,
        traceparent: str | None,
        needs_ack: bool,
    ) -> None:
        delivery_id = delivery_id_for(notice.notice_id, recipient.id, channel)
        failure: str | None = None
        try:
            body = self.notice_body(notice, recipient, channel, delivery_id, needs_ack)
        except TemplateError as exc:
            failure, body = str(exc), notice_body({"notice_id": str(notice.notice_id)})
        await deliveries.add_delivery(
            conn,
            NewDelivery(
                delivery_id=delivery_id,
                event_id=notice.notice_id,
                recipient_id=recipient.id,
                case_id=stream_case_id(notice.stream, notice.case_id),
                seq=notice.seq,
                event_type=notice.kind,
                jurisdiction=notice.jurisdiction,
                body=body,
                traceparent=traceparent,
                channel=channel,
                failure=failure,
                needs_ack=needs_ack,
                origin="notice",
            ),
        )

    def notice_body(
        self, notice: Notice, recipient: Recipient, channel: str, delivery_id: uuid.UUID, needs_ack: bool
    ) -> str:
        return channel_message(
            channel, recipient, self.document(notice, recipient, delivery_id, needs_ack)
        ).body

    def document(
        self, notice: Notice, recipient: Recipient, delivery_id: uuid.UUID, needs_ack: bool
    ) -> dict[str, Any]:
        """The webhook document of a notice (the mail and SMS texts are cut from it)."""
        context = {
            "case_line": "",
            **notice.facts,
            **notice_labels(notice.facts),
            "recipient_id": recipient.id,
            "recipient_name": recipient.name,
            "recipient_role": recipient.role,
            "place": place_name(self.registry, notice.jurisdiction),
            "case_id": str(notice.case_id) if notice.case_id else "",
            "when": beijing_time(notice.occurred_at),
        }
        document: dict[str, Any] = {
            "delivery_id": str(delivery_id),
            "recipient_id": recipient.id,
            "recipient_name": recipient.name,
            "text": self.templates.render(notice.kind, context),
            "notice_id": str(notice.notice_id),
            "event_type": notice.kind,
            "stream": notice.stream,
            "seq": notice.seq,
            "jurisdiction": notice.jurisdiction,
            "jurisdiction_name": place_name(self.registry, notice.jurisdiction),
            "occurred_at": notice.occurred_at.isoformat(),
            "facts": notice.facts,
            "notice_hash": notice.hash,
        }
        if notice.case_id is not None:
            document["case_id"] = str(notice.case_id)
        if needs_ack:
            document["acknowledge_url"] = self.ack_url(recipient, delivery_id)
        return document

    async def render_again(self, conn: asyncpg.Connection, row: asyncpg.Record) -> str:
        """The body of a delivery whose notice could not be written, written now with the templates as
        they are; ``RenderRefused`` naming the reason when it still cannot be."""
        recipient = self.book.get(row["recipient_id"])
        if recipient is None:
            raise RenderRefused(f"recipient {row['recipient_id']} is no longer configured")
        try:
            if row["origin"] == "notice":
                raw = await notices.document_of(conn, row["event_id"])
                if raw is None:
                    raise RenderRefused(f"notice {row['event_id']} is not in this database")
                notice = Notice.model_validate_json(raw)
                return self.notice_body(
                    notice, recipient, row["channel"], row["delivery_id"], row["needs_ack"]
                )
            source = await deliveries.routed_event(conn, row["event_id"])
            if source is None:
                raise RenderRefused(f"event {row['event_id']} is not kept in this database")
            event = read_event(json.loads(source["document"]))
            facts = facts_from_document(json.loads(source["facts"]))
            return self.event_body(
                event, facts, recipient, row["channel"], row["delivery_id"], row["needs_ack"]
            )
        except TemplateError as exc:
            raise RenderRefused(f"the notice still cannot be written: {exc}") from exc
