"""The receipt projection (consumer group ``intake-receipts``): what a reporter sees of a case, rebuildable
from the case log, which carries only the receipt code's digest, never the code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

import asyncpg

from services.intake.adapters import SQL
from services.intake.domain.receipts import ReceiptStage, ReceiptState, ReceiptStep

Q = SQL.queries("receipts")


@dataclass(frozen=True)
class Receipt:
    """A row of the receipt projection."""

    receipt_digest: str
    case_id: uuid.UUID
    state: ReceiptState
    updated_at: datetime


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


async def by_digest(conn: asyncpg.Connection, digest: str) -> Receipt | None:
    row = await conn.fetchrow(Q["by_digest"], digest)
    return None if row is None else _receipt(row)


async def by_case(conn: asyncpg.Connection, case_id: uuid.UUID) -> Receipt | None:
    """The case's receipt, as the projection holds it now."""
    row = await conn.fetchrow(Q["by_case"], case_id)
    return None if row is None else _receipt(row)


async def by_cases(conn: asyncpg.Connection, case_ids: list[uuid.UUID]) -> list[Receipt]:
    """The receipts the projection holds of ``case_ids``, locked for the caller's transaction in case id
    order (two transactions over the same cases never wait on each other crosswise)."""
    return [_receipt(row) for row in await conn.fetch(Q["by_cases_for_update"], case_ids)]


async def save_all(conn: asyncpg.Connection, changed: list[Receipt]) -> None:
    """Write the receipts ``changed`` (new or folded further), in one round trip."""
    await conn.executemany(
        Q["save"],
        [
            (
                r.receipt_digest,
                r.case_id,
                r.state.stage,
                r.state.last_seq,
                r.state.last_hash,
                r.state.reward_granted,
                r.updated_at,
                r.state.merged_into,
                list(r.state.hashes),
            )
            for r in changed
        ],
    )


async def add_steps(conn: asyncpg.Connection, steps: list[tuple[uuid.UUID, int, ReceiptStep]]) -> None:
    """Add the steps a reporter is shown (each case and seq once), in one round trip."""
    await conn.executemany(
        Q["add_step"], [(case_id, seq, s.stage, s.label, s.on, s.at) for case_id, seq, s in steps]
    )


async def steps_of(conn: asyncpg.Connection, case_id: uuid.UUID) -> list[asyncpg.Record]:
    """A case's steps, oldest first: stage, label, on_day and the instant ``at`` (NULL if older)."""
    return await conn.fetch(Q["steps"], case_id)


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
    await conn.execute(Q["add_message"], notice_id, case_id, stage, text, on_day, recorded_at)


async def messages_of(conn: asyncpg.Connection, case_ids: list[uuid.UUID]) -> list[asyncpg.Record]:
    """The notices to the reporters of ``case_ids``, oldest first, with their case and instant."""
    return await conn.fetch(Q["messages"], case_ids)
