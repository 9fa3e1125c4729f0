"""Notify's notices: each stream a hash chain (``notice_streams`` holds its head), each notice once by its
dedupe key, published to the notices topic in the order recorded, and read back from the topic by a
rebuilt database (``notice_topic_positions``: how far) so its chains continue."""

from __future__ import annotations

import uuid

import asyncpg

from contracts.envelope import GENESIS_HASH
from contracts.notices import Notice, notice_bytes
from services.notify.adapters import SQL
from services.notify.domain.access import Visible

Q = SQL.queries("notices")


async def lock_head(conn: asyncpg.Connection, stream: str) -> asyncpg.Record:
    """The stream's head (``last_seq``, ``last_hash``; a new stream starts at the genesis hash), locked for
    the caller's transaction."""
    await conn.execute(Q["open_stream"], stream, GENESIS_HASH)
    head: asyncpg.Record = await conn.fetchrow(Q["lock_head"], stream)
    return head


async def is_recorded(conn: asyncpg.Connection, dedupe_key: str) -> bool:
    return bool(await conn.fetchval(Q["recorded"], dedupe_key))


async def append(conn: asyncpg.Connection, notice: Notice, dedupe_key: str) -> None:
    """Add the notice to its stream and move the stream's head to it (the caller holds the head)."""
    await conn.execute(
        Q["insert"],
        notice.notice_id,
        dedupe_key,
        notice.stream,
        notice.seq,
        notice.kind,
        notice.case_id,
        notice.jurisdiction,
        notice_bytes(notice),
    )
    await conn.execute(Q["advance_head"], notice.stream, notice.seq, notice.hash)


async def document_of(conn: asyncpg.Connection, notice_id: uuid.UUID) -> bytes | None:
    """The notice as recorded (its canonical JSON), or None when this database does not hold it."""
    raw = await conn.fetchval(Q["document"], notice_id)
    return None if raw is None else bytes(raw)


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
    return await conn.fetch(Q["find"], case_id, stream, visible.jurisdictions, visible.recipients, limit)


async def take_publisher_lock(conn: asyncpg.Connection) -> bool:
    """Whether this transaction is the one publisher of notices (one at a time keeps each stream's notices
    in seq order on the topic)."""
    return bool(await conn.fetchval(Q["publisher_lock"]))


async def claim_unpublished_notices(conn: asyncpg.Connection, limit: int = 200) -> list[asyncpg.Record]:
    """Notices not yet on Kafka, oldest first; the caller holds the publisher lock."""
    return await conn.fetch(Q["unpublished"], limit)


async def mark_notices_published(conn: asyncpg.Connection, ids: list[int]) -> None:
    await conn.execute(Q["mark_published"], ids)


async def topic_positions(conn: asyncpg.Connection, topic: str) -> dict[int, int]:
    """How far the notices topic was read back into this database: the next offset by partition."""
    rows = await conn.fetch(Q["topic_positions"], topic)
    return {r["partition"]: r["next_offset"] for r in rows}


async def save_topic_positions(conn: asyncpg.Connection, topic: str, reached: dict[int, int]) -> None:
    """Move the read-back positions forward (never back) to ``reached``."""
    await conn.executemany(Q["save_topic_position"], [(topic, p, o) for p, o in reached.items()])


async def read_back(
    conn: asyncpg.Connection,
    value: bytes,
    *,
    notice_id: uuid.UUID,
    dedupe_key: str,
    stream: str,
    seq: int,
    notice_hash: str,
    kind: str,
    case_id: uuid.UUID | None,
    jurisdiction: str,
) -> bool:
    """Keep a notice read back from the topic (``value``, its bytes as published) unless this database
    holds it, and move its stream's head to it unless the head is further; True when it was new."""
    status = await conn.execute(
        Q["insert_read_back"], notice_id, dedupe_key, stream, seq, kind, case_id, jurisdiction, value
    )
    await conn.execute(Q["read_back_head"], stream, seq, notice_hash)
    return bool(status == "INSERT 0 1")
