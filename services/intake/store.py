"""Intake's own tables: accepted clues (for idempotent, publish-after-store intake) and the receipt
projection. SQL schema in ``sql/``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import asyncpg

from services.intake.domain.receipts import ReceiptStage, ReceiptState, ReceiptStep


@dataclass(frozen=True)
class AcceptedClue:
    """A stored clue: its case, receipt code and the event bytes that go (or went) to Kafka."""

    idempotency_key: str | None
    request_digest: str
    case_id: uuid.UUID
    event_id: uuid.UUID
    receipt_code: str
    event: bytes
    recorded_at: datetime
    published_at: datetime | None = None


def _accepted(row: asyncpg.Record) -> AcceptedClue:
    return AcceptedClue(
        idempotency_key=row["idempotency_key"],
        request_digest=row["request_digest"],
        case_id=row["case_id"],
        event_id=row["event_id"],
        receipt_code=row["receipt_code"],
        event=bytes(row["event"]),
        recorded_at=row["recorded_at"],
        published_at=row["published_at"],
    )


_COLUMNS = (
    "idempotency_key, request_digest, case_id, event_id, receipt_code, event, recorded_at, published_at"
)


# Server pids of the pooled sessions holding a publishing lock: only these need clearing when the
# connection goes back to the pool (see ``reset_session``).
_LOCK_HOLDERS: set[int] = set()


async def reset_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release (asyncpg rolls back an open transaction first).

    Intake's sessions keep no state but a publishing lock, released by the request that took it; a
    request cut short (cancelled, connection error) may leave one, which is cleared here. Every other
    release costs no round trip, where asyncpg's default reset query would cost one.
    """
    if conn.get_server_pid() in _LOCK_HOLDERS:
        await conn.execute("SELECT pg_advisory_unlock_all()")
        _LOCK_HOLDERS.discard(conn.get_server_pid())


def publishing_lock(case_id: uuid.UUID) -> int:
    """The session advisory lock that one request holds while it publishes a keyed clue.

    A retry of the key takes it before looking at ``published_at``, so concurrent retries publish
    once. Derived from the random half of the case id; a collision only makes a request wait.
    """
    return int.from_bytes(case_id.bytes[8:], "big", signed=True)


async def insert_or_existing(conn: asyncpg.Connection, clue: AcceptedClue) -> tuple[AcceptedClue, bool]:
    """Store a new clue, or find the one stored earlier under the same idempotency key.

    Returns the stored clue and whether it is the one just inserted. Concurrent requests with one key
    meet at the unique constraint, so only one case is ever stored per key. A keyed clue just inserted
    comes back with its publishing lock held (in the same statement, so before any retry can see the
    row); the caller releases it with ``mark_published`` or ``release_publishing``. A clue without a key
    can never be met by another request, so it takes no lock.
    """
    values = (
        clue.idempotency_key,
        clue.request_digest,
        clue.case_id,
        clue.event_id,
        clue.receipt_code,
        clue.event,
        clue.recorded_at,
    )
    insert = (
        f"INSERT INTO accepted_clues ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) "
        f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING {_COLUMNS}"
    )
    if clue.idempotency_key is None:
        row = await conn.fetchrow(insert, *values)
    else:
        _LOCK_HOLDERS.add(conn.get_server_pid())  # before the lock may be taken
        row = await conn.fetchrow(
            f"WITH inserted AS ({insert}) "
            f"SELECT {_COLUMNS}, pg_advisory_lock($8::bigint) IS NULL AS locked FROM inserted",
            *values,
            publishing_lock(clue.case_id),
        )
    if row is not None:
        return _accepted(row), True
    existing = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM accepted_clues WHERE idempotency_key = $1", clue.idempotency_key
    )
    if existing is None:  # the key's row cannot vanish: nothing ever deletes from this table
        raise LookupError(f"idempotency key {clue.idempotency_key!r} conflicted but has no row")
    return _accepted(existing), False


async def claim_for_publishing(conn: asyncpg.Connection, case_id: uuid.UUID) -> datetime | None:
    """Take the clue's publishing lock (waiting for a request publishing it now) and return when it was
    published, None if not yet; then the caller publishes and releases the lock.

    The row is read ``FOR UPDATE`` so the read waits for the holder's ``published_at`` to commit.
    """
    _LOCK_HOLDERS.add(conn.get_server_pid())
    await conn.execute("SELECT pg_advisory_lock($1::bigint)", publishing_lock(case_id))
    try:
        return cast(
            datetime | None,
            await conn.fetchval(
                "SELECT published_at FROM accepted_clues WHERE case_id = $1 FOR UPDATE", case_id
            ),
        )
    except BaseException:
        await release_publishing(conn, case_id)
        raise


async def release_publishing(conn: asyncpg.Connection, case_id: uuid.UUID) -> None:
    await conn.execute("SELECT pg_advisory_unlock($1::bigint)", publishing_lock(case_id))
    _LOCK_HOLDERS.discard(conn.get_server_pid())


async def mark_published(conn: asyncpg.Connection, case_id: uuid.UUID, *, locked: bool) -> None:
    """Stamp the clue published; with ``locked``, release its publishing lock in the same statement.

    The unlock reads the update's result first (``count``), so it runs after the row is updated; a
    retry waiting for the lock then reads the row ``FOR UPDATE`` and sees the stamp once it commits.

    The stamp's commit does not wait for the WAL flush (``synchronous_commit`` off for this statement
    only): Kafka already holds the event, and a stamp lost in a database crash costs no more than a
    retry republishing the same bytes, which every consumer skips as an identical repeat.
    """
    update = (
        "UPDATE accepted_clues SET published_at = now() "
        "FROM (SELECT set_config('synchronous_commit', 'off', true)) AS this_transaction_only "
        "WHERE case_id = $1 AND published_at IS NULL"
    )
    if not locked:
        await conn.execute(update, case_id)
        return
    await conn.execute(
        f"WITH marked AS ({update} RETURNING 1) "
        "SELECT pg_advisory_unlock($2::bigint) FROM (SELECT count(*) FROM marked) AS done",
        case_id,
        publishing_lock(case_id),
    )
    _LOCK_HOLDERS.discard(conn.get_server_pid())


async def published_clue_by_receipt(conn: asyncpg.Connection, receipt_code: str) -> AcceptedClue | None:
    """A clue this intake published under ``receipt_code`` (Kafka has it, the projection may lag)."""
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM accepted_clues WHERE receipt_code = $1 AND published_at IS NOT NULL",
        receipt_code,
    )
    return None if row is None else _accepted(row)


@dataclass(frozen=True)
class Receipt:
    """A row of the receipt projection."""

    receipt_digest: str
    case_id: uuid.UUID
    state: ReceiptState
    updated_at: datetime


_RECEIPT = (
    "receipt_digest, case_id, stage, last_seq, last_hash, reward_granted, updated_at, merged_into, hashes"
)


async def receipt_by_digest(conn: asyncpg.Connection, digest: str) -> Receipt | None:
    row = await conn.fetchrow(f"SELECT {_RECEIPT} FROM receipts WHERE receipt_digest = $1", digest)
    return None if row is None else _receipt(row)


async def receipt_by_case(
    conn: asyncpg.Connection, case_id: uuid.UUID, *, lock: bool = True
) -> Receipt | None:
    query = f"SELECT {_RECEIPT} FROM receipts WHERE case_id = $1" + (" FOR UPDATE" if lock else "")
    row = await conn.fetchrow(query, case_id)
    return None if row is None else _receipt(row)


def _receipt(row: asyncpg.Record) -> Receipt:
    state = ReceiptState(
        stage=cast(ReceiptStage, row["stage"]),
        last_seq=row["last_seq"],
        last_hash=row["last_hash"],
        reward_granted=row["reward_granted"],
        merged_into=row["merged_into"],
        hashes=tuple(row["hashes"]),
    )
    return Receipt(row["receipt_digest"], row["case_id"], state, row["updated_at"])


async def insert_new_receipt(
    conn: asyncpg.Connection,
    digest: str,
    case_id: uuid.UUID,
    state: ReceiptState,
    updated_at: datetime,
    step: ReceiptStep,
) -> bool:
    """Add the receipt of a case the projection does not hold yet, with its first step (one statement);
    False (nothing written) if it holds it."""
    inserted = await conn.fetchval(
        "WITH opened AS (INSERT INTO receipts "
        "(receipt_digest, case_id, stage, last_seq, last_hash, reward_granted, updated_at, hashes) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, ARRAY[$5]) ON CONFLICT DO NOTHING RETURNING case_id) "
        "INSERT INTO receipt_steps (case_id, seq, stage, label, on_day) "
        "SELECT case_id, $4, $8, $9, $10 FROM opened ON CONFLICT DO NOTHING RETURNING true",
        digest,
        case_id,
        state.stage,
        state.last_seq,
        state.last_hash,
        state.reward_granted,
        updated_at,
        step.stage,
        step.label,
        step.on,
    )
    return bool(inserted)


async def save_receipt(
    conn: asyncpg.Connection, digest: str, case_id: uuid.UUID, state: ReceiptState, updated_at: datetime
) -> None:
    await conn.execute(
        "INSERT INTO receipts "
        f"({_RECEIPT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (case_id) DO UPDATE SET stage = EXCLUDED.stage, "
        "last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash, "
        "reward_granted = EXCLUDED.reward_granted, updated_at = EXCLUDED.updated_at, "
        "merged_into = EXCLUDED.merged_into, hashes = EXCLUDED.hashes",
        digest,
        case_id,
        state.stage,
        state.last_seq,
        state.last_hash,
        state.reward_granted,
        updated_at,
        state.merged_into,
        list(state.hashes),
    )


async def add_step(conn: asyncpg.Connection, case_id: uuid.UUID, seq: int, step: ReceiptStep) -> None:
    await conn.execute(
        "INSERT INTO receipt_steps (case_id, seq, stage, label, on_day) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT DO NOTHING",
        case_id,
        seq,
        step.stage,
        step.label,
        step.on,
    )


async def steps_of(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT stage, label, on_day FROM receipt_steps WHERE case_id = $1 ORDER BY seq", case_id
    )


async def add_message(
    conn: asyncpg.Connection,
    notice_id: uuid.UUID,
    case_id: uuid.UUID,
    stage: str | None,
    text: str,
    on_day: date,
    recorded_at: datetime,
) -> None:
    """Keep a notice to a case's reporter (once, however often it is read)."""
    await conn.execute(
        "INSERT INTO receipt_messages (notice_id, case_id, stage, text, on_day, recorded_at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        notice_id,
        case_id,
        stage,
        text,
        on_day,
        recorded_at,
    )


async def messages_of(conn: asyncpg.Connection, case_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT stage, text, on_day FROM receipt_messages WHERE case_id = ANY($1::uuid[]) "
        "ORDER BY recorded_at",
        case_ids,
    )
