"""This region's chain-head anchors (``contracts.anchors``): the last event of each case it wrote, as triage
read it back from the region's own case log (``anchor_heads``), and the anchor chain that names them
(``anchors``, also the outbox of ``<prefix>.anchors``)."""

from __future__ import annotations

import uuid

import asyncpg

from cluetrail.kafka import anchor_topic
from cluetrail.outbox import OutboxRows, Outgoing
from cluetrail.settings import CommonSettings
from contracts.anchors import Anchor, AnchoredHead, anchor_bytes
from contracts.chain import START, Head
from services.triage.adapters import SQL

Q = SQL.queries("anchors")
# triage_meta: how far this database read its region's anchors topic back (next offset by partition).
READ_BACK = "anchors-read-back"
HEADERS = {"schema-version": str(Anchor.model_fields["schema_version"].default)}


async def note_head(conn: asyncpg.Connection, case_id: uuid.UUID, seq: int, hash: str) -> None:
    """A case event this region wrote, read back from its case log: the case's head, unless further."""
    await conn.execute(Q["note_head"], case_id, seq, hash)


async def lock(conn: asyncpg.Connection) -> None:
    """Hold the anchor chain for the caller's transaction (one anchorer per database at a time)."""
    await conn.execute(Q["lock"])


async def moved_heads(conn: asyncpg.Connection, limit: int) -> list[AnchoredHead]:
    """Heads that moved past what was anchored, locked for the caller's transaction (rows a consumer holds
    now are left to the next anchor)."""
    rows = await conn.fetch(Q["moved_heads"], limit)
    return [AnchoredHead(case_id=r["case_id"], seq=r["seq"], hash=r["hash"]) for r in rows]


async def last(conn: asyncpg.Connection) -> Head:
    """The head of this region's anchor chain (``START`` before its first anchor)."""
    row = await conn.fetchrow(Q["last"])
    return START if row is None else Head(row["seq"], row["hash"])


async def append(conn: asyncpg.Connection, anchor: Anchor) -> None:
    """Store the anchor for publishing and mark its heads anchored, in the caller's transaction."""
    await conn.execute(Q["insert"], anchor.seq, anchor.anchor_id, anchor.hash, anchor_bytes(anchor))
    await conn.execute(Q["mark_anchored"], [h.case_id for h in anchor.heads], [h.seq for h in anchor.heads])


async def read_back(conn: asyncpg.Connection, anchor: Anchor, raw: bytes) -> str | None:
    """Keep an anchor of this region read back from its topic (as published) and mark its heads anchored.
    Returns the hash this database holds at that seq when it is another one (the chain forked)."""
    await conn.execute(Q["read_back"], anchor.seq, anchor.anchor_id, anchor.hash, raw)
    held: str = await conn.fetchval(Q["hash_at"], anchor.seq)
    await conn.execute(
        Q["read_back_heads"],
        [h.case_id for h in anchor.heads],
        [h.seq for h in anchor.heads],
        [h.hash for h in anchor.heads],
    )
    return None if held == anchor.hash else held


def outbox_rows(settings: CommonSettings) -> OutboxRows:
    """The relay's view of ``anchors``: each row a record of ``<prefix>.anchors``, keyed by the region."""
    topic = anchor_topic(settings)
    key = settings.region.encode()

    def record(row: asyncpg.Record) -> Outgoing:
        return Outgoing(topic=topic, key=key, value=bytes(row["body"]), headers=HEADERS)

    return OutboxRows("anchors", "body", record)
