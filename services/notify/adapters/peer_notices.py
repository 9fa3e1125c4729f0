"""The notices of peer regions (``peer_notices``): each region's streams checked link by link as they
arrive from its replicated notices topic, so a repeat is known and a forgery refused; and the
acknowledgements other regions' offices gave this region's cross-region notices
(``cross_region_acknowledgements``)."""

from __future__ import annotations

import uuid

import asyncpg

from contracts.chain import START, Head, needs_recorded_hash
from contracts.notices import Notice
from services.notify.adapters import SQL
from services.notify.domain.regions import RegionAcknowledgement

Q = SQL.queries("peer_notices")


async def head(conn: asyncpg.Connection, region: str, stream: str) -> Head:
    """The last notice of ``region``'s ``stream`` this region applied (``START`` when none), locked."""
    row = await conn.fetchrow(Q["head"], region, stream)
    return Head(row["seq"], row["hash"]) if row is not None else START


async def recorded_hash(conn: asyncpg.Connection, region: str, stream: str, at: Head, seq: int) -> str | None:
    """The hash applied at ``seq`` when the chain step needs it (a link before the head), else None."""
    if not needs_recorded_hash(at, seq):
        return None
    found: str | None = await conn.fetchval(Q["hash_at"], region, stream, seq)
    return found


async def keep(conn: asyncpg.Connection, region: str, notice: Notice) -> None:
    """Add the peer's notice to its chain (the caller holds the head)."""
    await conn.execute(
        Q["keep"], region, notice.stream, notice.seq, notice.notice_id, notice.kind, notice.hash
    )


async def save_acknowledgement(
    conn: asyncpg.Connection, ack: RegionAcknowledgement, ack_notice: Notice
) -> bool:
    """Keep the acknowledgement unless it is kept already; True when kept now."""
    kept = await conn.fetchval(
        Q["save_acknowledgement"],
        ack.notice_id,
        ack.region,
        ack.recipient_id,
        ack.recipient_name,
        ack.acknowledged_at,
        ack_notice.notice_id,
        ack_notice.hash,
    )
    return bool(kept)


async def acknowledgements(
    conn: asyncpg.Connection, notice_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[asyncpg.Record]]:
    """The acknowledgements other regions gave each of ``notice_ids``, in the order given."""
    found: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for row in await conn.fetch(Q["acknowledgements"], notice_ids):
        found.setdefault(row["notice_id"], []).append(row)
    return found
