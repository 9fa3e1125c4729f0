"""Intake's own tables: accepted clues (stored before they are published, by the relay, which reads this
table as its outbox; idempotent under a key) and the receipt projection. SQL schema in ``sql/``."""

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


async def reset_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release (asyncpg rolls back an open transaction first): intake's sessions keep
    no state, so a release costs no round trip, where asyncpg's default reset query would cost one."""


async def insert_or_existing(
    conn: asyncpg.Connection, clue: AcceptedClue, traceparent: str | None
) -> tuple[AcceptedClue, bool]:
    """Store a new clue for the relay to publish, or find the one stored earlier under the same
    idempotency key.

    Returns the stored clue and whether it is the one just inserted. Concurrent requests with one key
    meet at the unique constraint, so only one case is ever stored per key, and it is published once:
    by the relay, never by a request. ``traceparent`` is the request's, for the relay's publish span.
    """
    row = await conn.fetchrow(
        f"INSERT INTO accepted_clues ({_COLUMNS}, traceparent) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) "
        f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING {_COLUMNS}",
        clue.idempotency_key,
        clue.request_digest,
        clue.case_id,
        clue.event_id,
        clue.receipt_code,
        clue.event,
        clue.recorded_at,
        traceparent,
    )
    if row is not None:
        return _accepted(row), True
    existing = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM accepted_clues WHERE idempotency_key = $1", clue.idempotency_key
    )
    if existing is None:  # the key's row cannot vanish: nothing ever deletes from this table
        raise LookupError(f"idempotency key {clue.idempotency_key!r} conflicted but has no row")
    return _accepted(existing), False


async def published_at(conn: asyncpg.Connection, case_id: uuid.UUID) -> datetime | None:
    """When the relay published the clue of ``case_id`` (None: not yet)."""
    return cast(
        datetime | None,
        await conn.fetchval("SELECT published_at FROM accepted_clues WHERE case_id = $1", case_id),
    )


async def clue_by_receipt(conn: asyncpg.Connection, receipt_code: str) -> AcceptedClue | None:
    """The clue this intake accepted under ``receipt_code`` (published or still waiting for Kafka; the
    receipt projection may lag behind either way)."""
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM accepted_clues WHERE receipt_code = $1", receipt_code)
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
        "INSERT INTO receipt_steps (case_id, seq, stage, label, on_day, at) "
        "SELECT case_id, $4, $8, $9, $10, $11 FROM opened ON CONFLICT DO NOTHING RETURNING true",
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
        step.at,
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
        "INSERT INTO receipt_steps (case_id, seq, stage, label, on_day, at) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        case_id,
        seq,
        step.stage,
        step.label,
        step.on,
        step.at,
    )


async def steps_of(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[asyncpg.Record]:
    """A case's steps, oldest first: stage, label, on_day and the instant ``at`` (NULL if older)."""
    return await conn.fetch(
        "SELECT stage, label, on_day, at FROM receipt_steps WHERE case_id = $1 ORDER BY seq", case_id
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
    """The notices to the reporters of ``case_ids``, oldest first, with their case and instant."""
    return await conn.fetch(
        "SELECT case_id, stage, text, on_day, recorded_at FROM receipt_messages "
        "WHERE case_id = ANY($1::uuid[]) ORDER BY recorded_at",
        case_ids,
    )
