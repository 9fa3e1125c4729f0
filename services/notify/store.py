"""The notify tables: deliveries (one per event, recipient and channel), delivery_attempts (the delivery
log), the case facts, and the events deliveries were written from.

Every function takes the connection of the caller's transaction, so the consumer can store deliveries
with its position, and the worker can hold the row lock of a claimed delivery while it sends.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.notify.domain.cases import CaseFacts

DELIVERY_COLUMNS = (
    "delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, traceparent, status, "
    "attempts, round_attempts, next_attempt_at, last_error, created_at, delivered_at, dead_at, "
    "dead_letter_published_at, resent_at, channel, needs_ack, acknowledged_at, ack_escalated_at, origin, "
    "rendered, failing_since, last_attempt_at"
)


QUALIFIED = ", ".join("d." + c.strip() for c in DELIVERY_COLUMNS.split(","))
# Delivery ids are derived, not drawn: the same event to the same recipient on the same channel has the
# same id in any notify database, so a receiver drops a repeat sent after notify's database was rebuilt.
DELIVERY_NAMESPACE = uuid.UUID("3d0f6a5e-7c1b-5e2a-9b8d-4f6e1a2c3b5d")


def delivery_id_for(source_id: uuid.UUID, recipient_id: str, channel: str) -> uuid.UUID:
    """The delivery id of case event or notice ``source_id`` to ``recipient_id`` on ``channel``."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{source_id}/{recipient_id}/{channel}")


@dataclass(frozen=True)
class NewDelivery:
    """A notice to send, decided while consuming its event."""

    delivery_id: uuid.UUID
    event_id: uuid.UUID
    recipient_id: str
    case_id: uuid.UUID
    seq: int
    event_type: str
    jurisdiction: str
    body: str
    traceparent: str | None
    channel: str = "webhook"
    # Set when the notice could not even be written (a broken template): the delivery is dead at once.
    failure: str | None = None
    needs_ack: bool = False
    # event: a case event, ordered by the case's seq; notice: notify's own, ordered by the notice's seq.
    origin: str = "event"
    # History a new database folds (before its start of delivery): recorded, sent to nobody.
    skipped: bool = False


async def add_delivery(conn: asyncpg.Connection, delivery: NewDelivery) -> bool:
    """Store a delivery unless this event was already routed to this recipient on this channel; True
    when stored now."""
    inserted = await conn.fetchval(
        "INSERT INTO deliveries (delivery_id, event_id, recipient_id, case_id, seq, event_type, "
        "jurisdiction, body, traceparent, channel, status, last_error, dead_at, needs_ack, origin, rendered) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
        "CASE WHEN $14 THEN 'skipped' WHEN $11::text IS NULL THEN 'pending' ELSE 'dead' END, $11::text, "
        "CASE WHEN $11::text IS NULL OR $14 THEN NULL ELSE clock_timestamp() END, $12, $13, "
        "$11::text IS NULL) "
        "ON CONFLICT (event_id, recipient_id, channel) DO NOTHING RETURNING true",
        delivery.delivery_id,
        delivery.event_id,
        delivery.recipient_id,
        delivery.case_id,
        delivery.seq,
        delivery.event_type,
        delivery.jurisdiction,
        delivery.body,
        delivery.traceparent,
        delivery.channel,
        delivery.failure,
        delivery.needs_ack,
        delivery.origin,
        delivery.skipped,
    )
    return bool(inserted)


async def save_routed_event(
    conn: asyncpg.Connection, event_id: uuid.UUID, document: dict[str, Any], facts: dict[str, Any]
) -> None:
    """Keep the event deliveries were written from, and the case's facts then, to write them again."""
    await conn.execute(
        "INSERT INTO routed_events (event_id, document, facts) VALUES ($1, $2::jsonb, $3::jsonb) "
        "ON CONFLICT (event_id) DO NOTHING",
        event_id,
        json.dumps(document, ensure_ascii=False),
        json.dumps(facts, ensure_ascii=False),
    )


# A due delivery whose recipient has no earlier unfinished (pending or dead) notice of the same case in
# the same ordering: notices of one case reach one recipient in order, and a dead one holds the later
# ones until it is resent. SKIP LOCKED lets several senders (and instances) share the queue without two
# of them sending the same delivery at once.
BLOCKER = (
    "SELECT e.delivery_id FROM deliveries e WHERE e.status IN ('pending', 'dead') "
    "AND e.recipient_id = d.recipient_id AND e.channel = d.channel AND e.case_id = d.case_id "
    "AND e.origin = d.origin AND e.seq < d.seq"
)
_READY = f"d.status = 'pending' AND NOT EXISTS ({BLOCKER})"


async def claim_due(conn: asyncpg.Connection, lease_seconds: float) -> asyncpg.Record | None:
    """Take one due, ready delivery and count the attempt about to be made, or None.

    The attempt (``attempts``, ``round_attempts``, ``last_attempt_at`` and its row in the attempt log,
    without an outcome) is written before anything is sent, and the caller commits it before sending: a
    notify killed during the send leaves the attempt counted. For ``lease_seconds`` nobody else takes the
    delivery (it is not due before ``sending_until``); a sender still silent after that is presumed dead
    and the delivery is sent again (the receiver drops the repeat by its delivery id)."""
    row = await conn.fetchrow(
        "UPDATE deliveries SET attempts = attempts + 1, round_attempts = round_attempts + 1, "
        "last_attempt_at = clock_timestamp(), "
        "sending_until = clock_timestamp() + make_interval(secs => $1), "
        "next_attempt_at = clock_timestamp() + make_interval(secs => $1) "
        f"WHERE delivery_id = (SELECT d.delivery_id FROM deliveries d "
        f"WHERE {_READY} AND d.next_attempt_at <= clock_timestamp() "
        "ORDER BY d.next_attempt_at, d.seq LIMIT 1 FOR UPDATE OF d SKIP LOCKED) "
        f"RETURNING {DELIVERY_COLUMNS}",
        lease_seconds,
    )
    if row is not None:
        await conn.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempt, at, settled) "
            "VALUES ($1, $2, clock_timestamp(), false)",
            row["delivery_id"],
            row["attempts"],
        )
    return row


async def lock_claimed(conn: asyncpg.Connection, delivery_id: uuid.UUID, attempt: int) -> bool:
    """Lock the delivery to settle ``attempt``; False when it is no longer that attempt's to settle (its
    lease ran out and another sender took it, or it is no longer pending)."""
    current = await conn.fetchval(
        "SELECT attempts FROM deliveries WHERE delivery_id = $1 AND status = 'pending' FOR UPDATE",
        delivery_id,
    )
    return bool(current == attempt)


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    """When the earliest ready delivery falls due (maybe already: then it is being sent by someone)."""
    value: datetime | None = await conn.fetchval(
        f"SELECT min(d.next_attempt_at) FROM deliveries d WHERE {_READY}"
    )
    return value


async def record_outcome(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempt: int,
    *,
    status_code: int | None,
    error: str | None,
    duration_ms: int,
) -> None:
    """What came of an attempt counted by ``claim_due``."""
    await conn.execute(
        "UPDATE delivery_attempts SET status_code = $3, error = $4, duration_ms = $5, settled = true "
        "WHERE delivery_id = $1 AND attempt = $2",
        delivery_id,
        attempt,
        status_code,
        error,
        duration_ms,
    )


async def mark_delivered(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, round_attempts: int, at: datetime
) -> None:
    """Record the delivery as delivered ``at`` (notify's clock: the acknowledgement timeout counts from
    it, on the same clock the scheduler reads)."""
    await conn.execute(
        "UPDATE deliveries SET status = 'delivered', attempts = $2, round_attempts = $3, "
        "delivered_at = $4, last_error = NULL, failing_since = NULL, sending_until = NULL "
        "WHERE delivery_id = $1",
        delivery_id,
        attempts,
        round_attempts,
        at,
    )


async def bring_forward(conn: asyncpg.Connection, recipient_id: str, channel: str) -> int:
    """The recipient answers again: its deliveries waiting out a backoff are due now, so a receiver back
    from an outage gets everything at once rather than over the next few minutes."""
    status = await conn.execute(
        "UPDATE deliveries SET next_attempt_at = clock_timestamp() WHERE recipient_id = $1 AND channel = $2 "
        "AND status = 'pending' AND round_attempts > 0 AND next_attempt_at > clock_timestamp() "
        # One being sent right now is left alone: bringing its lease forward would send it twice at once.
        "AND sending_until IS NULL",
        recipient_id,
        channel,
    )
    return int(str(status).rsplit(" ", 1)[-1])


async def schedule_retry(
    conn: asyncpg.Connection,
    delivery_id: uuid.UUID,
    attempts: int,
    round_attempts: int,
    delay: float,
    error: str,
) -> None:
    await conn.execute(
        "UPDATE deliveries SET attempts = $2, round_attempts = $3, last_error = $5, "
        "failing_since = coalesce(failing_since, clock_timestamp()), sending_until = NULL, "
        "next_attempt_at = clock_timestamp() + make_interval(secs => $4) WHERE delivery_id = $1",
        delivery_id,
        attempts,
        round_attempts,
        delay,
        error,
    )


async def mark_dead(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, attempts: int, round_attempts: int, error: str
) -> None:
    await conn.execute(
        "UPDATE deliveries SET status = 'dead', attempts = $2, round_attempts = $3, last_error = $4, "
        "dead_at = clock_timestamp(), dead_letter_published_at = NULL, sending_until = NULL "
        "WHERE delivery_id = $1",
        delivery_id,
        attempts,
        round_attempts,
        error,
    )


async def claim_unpublished_dead(conn: asyncpg.Connection, limit: int = 50) -> list[asyncpg.Record]:
    """Dead deliveries whose dead letter is not yet on Kafka, locked for the caller."""
    return await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries "
        "WHERE status = 'dead' AND dead_letter_published_at IS NULL "
        "ORDER BY dead_at LIMIT $1 FOR UPDATE SKIP LOCKED",
        limit,
    )


async def mark_dead_letter_published(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> None:
    await conn.execute(
        "UPDATE deliveries SET dead_letter_published_at = clock_timestamp() WHERE delivery_id = $1",
        delivery_id,
    )


@dataclass(frozen=True)
class Visible:
    """What a reader may see of the delivery log: everything (both None), else the deliveries of cases in
    ``jurisdictions`` and the deliveries routed to ``recipients``. An office reads what was sent to it
    wherever the case stands (a handoff offered to another district is that district's to read)."""

    jurisdictions: list[str] | None = None
    recipients: list[str] | None = None

    @property
    def everything(self) -> bool:
        return self.jurisdictions is None and self.recipients is None

    def covers(self, jurisdiction: str, recipient_id: str) -> bool:
        """Whether a delivery of a case in ``jurisdiction`` to ``recipient_id`` is visible."""
        return (
            self.everything
            or jurisdiction in (self.jurisdictions or ())
            or recipient_id in (self.recipients or ())
        )


EVERYTHING = Visible()


def _visible(param: int, alias: str = "") -> str:
    """The reader's filter on parameters ``$param`` (jurisdictions) and ``$param+1`` (recipients)."""
    j, r = f"${param}::text[]", f"${param + 1}::text[]"
    return (
        f"(({j} IS NULL AND {r} IS NULL) OR {alias}jurisdiction = ANY(coalesce({j}, '{{}}')) "
        f"OR {alias}recipient_id = ANY(coalesce({r}, '{{}}')))"
    )


async def find_deliveries(
    conn: asyncpg.Connection,
    *,
    case_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    recipient_id: str | None = None,
    visible: Visible = EVERYTHING,
) -> list[asyncpg.Record]:
    """The delivery log in case order (a case's events by seq, then its notices by seq), each with the
    earlier unfinished delivery it waits for, if any."""
    return await conn.fetch(
        f"SELECT {QUALIFIED}, ({BLOCKER} ORDER BY e.seq LIMIT 1) AS waiting_for FROM deliveries d "
        "WHERE ($1::uuid IS NULL OR d.case_id = $1) AND ($2::text IS NULL OR d.status = $2) "
        "AND ($4::text IS NULL OR d.recipient_id = $4) AND "
        + _visible(5, "d.")
        + " ORDER BY d.case_id, d.origin, d.seq, d.recipient_id, d.channel LIMIT $3",
        case_id,
        status,
        limit,
        recipient_id,
        visible.jurisdictions,
        visible.recipients,
    )


async def find_for_resend(
    conn: asyncpg.Connection,
    *,
    status: str,
    recipient_id: str | None,
    case_id: uuid.UUID | None,
    visible: Visible,
    limit: int,
) -> list[asyncpg.Record]:
    """Finished deliveries a bulk resend takes, in case order, locked for the caller."""
    return await conn.fetch(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE status = $1 AND channel <> 'receipt' "
        "AND ($2::text IS NULL OR recipient_id = $2) AND ($3::uuid IS NULL OR case_id = $3) AND "
        + _visible(4)
        + " ORDER BY case_id, origin, seq LIMIT $6 FOR UPDATE",
        status,
        recipient_id,
        case_id,
        visible.jurisdictions,
        visible.recipients,
        limit,
    )


async def get_delivery(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = $1", delivery_id
    )


async def attempts_of(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT attempt, at, status_code, error, duration_ms, settled FROM delivery_attempts "
        "WHERE delivery_id = $1 ORDER BY attempt",
        delivery_id,
    )


async def lock_delivery(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        f"SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = $1 FOR UPDATE", delivery_id
    )


async def reopen_for_resend(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, body: str | None = None
) -> None:
    """Put a finished delivery back in the queue with a fresh attempt budget (and, for one whose notice
    could not be written before, the body written now)."""
    await conn.execute(
        "UPDATE deliveries SET status = 'pending', round_attempts = 0, next_attempt_at = clock_timestamp(), "
        "resent_at = clock_timestamp(), dead_at = NULL, failing_since = NULL, "
        "body = coalesce($2, body), rendered = rendered OR $2 IS NOT NULL WHERE delivery_id = $1",
        delivery_id,
        body,
    )


CASE_COLUMNS = (
    "case_id, jurisdiction, last_seq, grade, key_case, responsible_department, police_transferred_on, "
    "criminal_filed_on, trial_and_return_by, supervision_from, clearance_by, closed, subject_name, "
    "subject_kind, sector, estimated_amount_yuan, participants, hashes"
)


def _facts(row: asyncpg.Record) -> CaseFacts:
    return CaseFacts(**{**dict(row), "hashes": tuple(row["hashes"])})


async def load_case(conn: asyncpg.Connection, case_id: uuid.UUID, *, lock: bool = True) -> CaseFacts | None:
    """The case's facts, locked for the caller's transaction (events of one case apply one at a time)."""
    query = f"SELECT {CASE_COLUMNS} FROM cases WHERE case_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(query, case_id)
    return _facts(row) if row is not None else None


async def save_case(conn: asyncpg.Connection, facts: CaseFacts) -> None:
    values = [getattr(facts, c.strip()) for c in CASE_COLUMNS.split(",")]
    updates = ", ".join(f"{c.strip()} = EXCLUDED.{c.strip()}" for c in CASE_COLUMNS.split(",")[1:])
    await conn.execute(
        f"INSERT INTO cases ({CASE_COLUMNS}) VALUES ({', '.join(f'${i + 1}' for i in range(len(values)))}) "
        f"ON CONFLICT (case_id) DO UPDATE SET {updates}, updated_at = now()",
        *values,
    )


async def open_key_cases(conn: asyncpg.Connection) -> list[CaseFacts]:
    """Key cases not closed that have a limit to remind of."""
    rows = await conn.fetch(
        f"SELECT {CASE_COLUMNS} FROM cases WHERE key_case AND NOT closed "
        "AND (trial_and_return_by IS NOT NULL OR supervision_from IS NOT NULL OR clearance_by IS NOT NULL)"
    )
    return [_facts(r) for r in rows]


async def awaiting_ack(conn: asyncpg.Connection, delivered_before: datetime) -> list[asyncpg.Record]:
    """Key-case notices delivered at or before ``delivered_before`` that nobody acknowledged (on any
    channel) and that were not yet taken up a level, locked for the caller (one row per channel: the
    caller groups them by event and recipient)."""
    return await conn.fetch(
        f"SELECT {QUALIFIED} FROM deliveries d WHERE d.needs_ack AND d.status = 'delivered' "
        "AND d.acknowledged_at IS NULL AND d.ack_escalated_at IS NULL AND d.delivered_at <= $1 "
        "AND NOT EXISTS (SELECT 1 FROM deliveries a WHERE a.event_id = d.event_id "
        "AND a.recipient_id = d.recipient_id AND a.acknowledged_at IS NOT NULL) "
        "ORDER BY d.delivered_at FOR UPDATE OF d SKIP LOCKED",
        delivered_before,
    )


async def mark_ack_escalated(conn: asyncpg.Connection, event_id: uuid.UUID, recipient_id: str) -> None:
    await conn.execute(
        "UPDATE deliveries SET ack_escalated_at = clock_timestamp() "
        "WHERE event_id = $1 AND recipient_id = $2",
        event_id,
        recipient_id,
    )


async def acknowledge(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> datetime | None:
    """Acknowledge the notice of ``delivery_id`` for its recipient (every channel); returns when it was
    first acknowledged, or None for an unknown delivery."""
    row = await conn.fetchrow(
        "SELECT event_id, recipient_id FROM deliveries WHERE delivery_id = $1", delivery_id
    )
    if row is None:
        return None
    await conn.execute(
        "UPDATE deliveries SET acknowledged_at = clock_timestamp() "
        "WHERE event_id = $1 AND recipient_id = $2 AND acknowledged_at IS NULL",
        row["event_id"],
        row["recipient_id"],
    )
    first: datetime = await conn.fetchval(
        "SELECT min(acknowledged_at) FROM deliveries WHERE event_id = $1 AND recipient_id = $2",
        row["event_id"],
        row["recipient_id"],
    )
    return first


async def acknowledged_at(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> datetime | None:
    """When the notice of ``delivery_id`` was first acknowledged by its recipient (any channel)."""
    value: datetime | None = await conn.fetchval(
        "SELECT min(a.acknowledged_at) FROM deliveries d JOIN deliveries a "
        "ON a.event_id = d.event_id AND a.recipient_id = d.recipient_id WHERE d.delivery_id = $1",
        delivery_id,
    )
    return value


async def find_notices(
    conn: asyncpg.Connection,
    *,
    case_id: uuid.UUID | None,
    stream: str | None,
    visible: Visible,
    limit: int,
) -> list[asyncpg.Record]:
    """Notices of a case or a stream in chain order (stream, seq), as the reader may see them: of cases in
    their jurisdictions, or naming their recipients."""
    return await conn.fetch(
        "SELECT document, published_at FROM notices WHERE ($1::uuid IS NULL OR case_id = $1) "
        "AND ($2::text IS NULL OR stream = $2) "
        "AND (($3::text[] IS NULL AND $4::text[] IS NULL) "
        "OR jurisdiction = ANY(coalesce($3::text[], '{}')) "
        "OR convert_from(document, 'UTF8')::jsonb -> 'recipients' ?| coalesce($4::text[], '{}')) "
        "ORDER BY stream, seq LIMIT $5",
        case_id,
        stream,
        visible.jurisdictions,
        visible.recipients,
        limit,
    )


async def claim_unpublished_notices(conn: asyncpg.Connection, limit: int = 200) -> list[asyncpg.Record]:
    """Notices not yet on Kafka, oldest first; the caller holds the publisher lock."""
    return await conn.fetch(
        "SELECT id, stream, kind, document FROM notices WHERE published_at IS NULL ORDER BY id LIMIT $1",
        limit,
    )


async def mark_notices_published(conn: asyncpg.Connection, ids: list[int]) -> None:
    await conn.execute(
        "UPDATE notices SET published_at = clock_timestamp() WHERE id = ANY($1::bigint[])", ids
    )
