"""Applies notify's notices (the ``<prefix>.notices`` topic) to one projection version, checking each
stream's hash chain as the case log's chains are checked, and reads a case's notices back.

The same code serves the live notices consumer (one record at a time, inside its batch transaction) and
the rebuild (whole batches, with the as-of instant when there is one).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord

from cluetrail.errors import RuleViolation
from contracts.envelope import GENESIS_HASH
from contracts.notices import NoticeChainBroken, notice_link
from services.reporting.adapters import SQL
from services.reporting.adapters.reads import snapshot
from services.reporting.domain.notices import NoticeRecord, NoticeRefused, read_notice

Q = SQL.queries("notices")
# The consumer whose positions in a version are the notices topic's (the live consumer's Kafka group too).
NOTICES_CONSUMER = "reporting-notices"


class NoticesNotKept(RuleViolation):
    """A projection built before reporting kept notify's notices has none to show."""

    status_code = 409


@dataclass
class NoticesApplied:
    """What one call did: notices kept, repeats skipped, those recorded after the as-of instant left
    out, and records refused with the reason."""

    applied: int = 0
    repeats: int = 0
    after_as_of: int = 0
    rejected: list[tuple[ConsumerRecord[bytes, bytes], str]] = field(default_factory=list)


def _row(record: ConsumerRecord[bytes, bytes], read: NoticeRecord) -> tuple[object, ...]:
    notice = read.notice
    return (
        notice.stream,
        notice.seq,
        notice.notice_id,
        notice.kind,
        notice.case_id,
        notice.occurred_at,
        notice.recorded_at,
        notice.prev_hash,
        notice.hash,
        read.text,
        record.partition,
        record.offset,
    )


async def apply_notices(
    conn: asyncpg.Connection,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    recorded_by: datetime | None = None,
) -> NoticesApplied:
    """Apply notice records (in log order) to the schema the transaction's search_path names; with
    ``recorded_by``, only the notices recorded up to that instant (an as-of build)."""
    result = NoticesApplied()
    read: list[tuple[ConsumerRecord[bytes, bytes], NoticeRecord]] = []
    for record in records:
        try:
            notice = read_notice(record.value, record.key)
        except NoticeRefused as exc:
            result.rejected.append((record, exc.reason))
            continue
        if recorded_by is not None and notice.notice.recorded_at > recorded_by:
            result.after_as_of += 1
            continue
        read.append((record, notice))
    if not read:
        return result
    streams = sorted({notice.notice.stream for _, notice in read})
    heads: dict[str, tuple[int, str]] = {
        r["stream"]: (r["seq"], r["hash"]) for r in await conn.fetch(Q["stream_heads"], streams)
    }
    kept: dict[tuple[str, int], str] = {}  # hashes applied in this call, not yet in the table
    rows: list[tuple[object, ...]] = []
    for record, notice in read:
        stream, seq = notice.notice.stream, notice.notice.seq
        last_seq, last_hash = heads.get(stream, (0, GENESIS_HASH))
        recorded_hash = None
        if seq < last_seq:
            recorded_hash = kept.get((stream, seq)) or await conn.fetchval(Q["hash_at_seq"], stream, seq)
        try:
            new = notice_link(notice.document, last_seq, last_hash, recorded_hash)
        except NoticeChainBroken as exc:
            result.rejected.append(
                (record, f"notice stream {stream} seq {seq} ({notice.notice.notice_id}): {exc.reason}")
            )
            continue
        if not new:
            result.repeats += 1
            continue
        heads[stream] = (seq, notice.notice.hash)
        kept[(stream, seq)] = notice.notice.hash
        rows.append(_row(record, notice))
    if rows:
        await conn.executemany(Q["insert_notice"], rows)
    result.applied = len(rows)
    return result


async def case_notices(
    conn: asyncpg.Connection, case_id: uuid.UUID, as_of: str | None = None
) -> list[dict[str, Any]]:
    """The case's notices, each exactly as written on the notices topic, in the order they were recorded.
    ``NoticesNotKept`` for a version built before notices were kept (the live one is then being rebuilt)."""
    async with snapshot(conn, as_of) as schema:
        if not await conn.fetchval(Q["kept"]):
            again = (
                "it is being rebuilt: read again once it is switched"
                if as_of is None
                else "build it again with: cluetrail rebuild --as-of <its instant>"
            )
            raise NoticesNotKept(
                f"{schema} was built before reporting kept notify's notices; {again}",
                rule="reporting.notices",
            )
        rows = await conn.fetch(Q["case_notices"], case_id)
    return [json.loads(r["document"]) for r in rows]
