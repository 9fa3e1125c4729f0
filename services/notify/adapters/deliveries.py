"""Deliveries: one per (event or notice, recipient, channel), written while its event is consumed (or its
notice recorded), read by the delivery log and reopened by a resend; and the case events they were written
from (``routed_events``), kept to write a notice again.

Every function takes the connection of the caller's transaction, so the consumer stores deliveries with its
position; ``sending`` claims and settles their attempts.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from services.notify.adapters import SQL
from services.notify.domain.access import EVERYTHING, Visible

Q = SQL.queries("deliveries")
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


def _add_arguments(delivery: NewDelivery) -> tuple[object, ...]:
    """The arguments of the ``add`` statement for ``delivery``."""
    return (
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


async def add_delivery(conn: asyncpg.Connection, delivery: NewDelivery) -> bool:
    """Store a delivery unless this event was already routed to this recipient on this channel; True
    when stored now."""
    return bool(await conn.fetchval(Q["add"], *_add_arguments(delivery)))


async def add_deliveries(conn: asyncpg.Connection, new: list[NewDelivery]) -> None:
    """``add_delivery`` of each of ``new``, in one round trip."""
    await conn.executemany(Q["add"], [_add_arguments(d) for d in new])


async def save_routed_events(
    conn: asyncpg.Connection, routed: list[tuple[uuid.UUID, dict[str, Any], dict[str, Any]]]
) -> None:
    """Keep the events deliveries were written from, each with the case's facts then (event id, document,
    facts), to write those deliveries again on a resend; in one round trip."""
    await conn.executemany(
        Q["save_routed_event"],
        [
            (event_id, json.dumps(document, ensure_ascii=False), json.dumps(facts, ensure_ascii=False))
            for event_id, document, facts in routed
        ],
    )


async def routed_event(conn: asyncpg.Connection, event_id: uuid.UUID) -> asyncpg.Record | None:
    """The event kept by ``save_routed_events`` (``document`` and ``facts``, JSON text), or None."""
    return await conn.fetchrow(Q["routed_event"], event_id)


async def find_deliveries(
    conn: asyncpg.Connection,
    *,
    case_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    recipient_id: str | None = None,
    visible: Visible = EVERYTHING,
    awaiting_ack: bool | None = None,
    latest_first: bool = False,
) -> list[asyncpg.Record]:
    """The delivery log in case order (a case's events by seq, then its notices by seq), each with the
    earlier unfinished delivery it waits for, if any; ``awaiting_ack`` keeps only those delivered and not
    acknowledged yet (True) or only the others (False); ``latest_first`` orders them by delivery, latest
    first, instead of in case order."""
    return await conn.fetch(
        Q["find"],
        case_id,
        status,
        limit,
        recipient_id,
        visible.jurisdictions,
        visible.recipients,
        awaiting_ack,
        latest_first,
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
        Q["for_resend"], status, recipient_id, case_id, visible.jurisdictions, visible.recipients, limit
    )


async def get_delivery(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(Q["get"], delivery_id)


async def attempts_of(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(Q["attempts"], delivery_id)


async def lock_delivery(conn: asyncpg.Connection, delivery_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(Q["lock"], delivery_id)


async def reopen_for_resend(
    conn: asyncpg.Connection, delivery_id: uuid.UUID, body: str | None = None
) -> None:
    """Put a finished delivery back in the queue with a fresh attempt budget (and, for one whose notice
    could not be written before, the body written now)."""
    await conn.execute(Q["reopen"], delivery_id, body)
