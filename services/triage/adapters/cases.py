"""Triage's cases: the folded state of each (with the columns officers and operators query) and the chain of
events it holds for each, with their bytes as written."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import asyncpg

from contracts.envelope import Envelope
from contracts.events import event_bytes
from services.triage.adapters import SQL
from services.triage.domain.state import CaseState

Q = SQL.queries("cases")


async def load(conn: asyncpg.Connection, case_id: uuid.UUID, *, for_update: bool = False) -> CaseState | None:
    """The case's state, or None if triage has no such case. ``for_update`` locks the row."""
    raw = await conn.fetchval(Q["state_for_update" if for_update else "state"], case_id)
    return None if raw is None else CaseState.model_validate_json(raw)


async def save(
    conn: asyncpg.Connection,
    state: CaseState,
    events: Sequence[Envelope],
    written: Sequence[bytes] | None = None,
) -> None:
    """Store the state reached by ``events`` (already folded into it) and their place in the chain, each
    with its bytes: ``written`` when they came as bytes (copies of another region's events, kept exactly
    as written), else as this region writes them."""
    bodies = written if written is not None else [event_bytes(e) for e in events]
    await conn.executemany(
        Q["add_event"], [event_row(e, body) for e, body in zip(events, bodies, strict=True)]
    )
    await conn.execute(Q["save"], *state_row(state))


def event_row(event: Envelope, body: bytes) -> tuple[object, ...]:
    """A chain event's row (``add_event``)."""
    return (event.case_id, event.seq, event.event_id, event.type, event.hash, body)


def state_row(state: CaseState) -> tuple[object, ...]:
    """A case's row (``save``): the columns officers and operators query, and the whole state."""
    return (
        state.case_id,
        state.status.value,
        state.jurisdiction,
        state.grade.value if state.grade else None,
        state.score,
        state.key_case,
        state.determination.value if state.determination else None,
        state.outcome.value if state.outcome else None,
        state.last_seq,
        state.last_hash,
        state.model_dump_json(),
    )


async def open_case_ids(conn: asyncpg.Connection) -> list[uuid.UUID]:
    """Cases still handled (neither closed, written off nor merged)."""
    return [r["case_id"] for r in await conn.fetch(Q["open_case_ids"])]


async def event_bodies(conn: asyncpg.Connection, case_id: uuid.UUID, through_seq: int) -> list[bytes]:
    """The case's events 1..through_seq as written (for a referral bundle); raises if one is missing."""
    rows = await conn.fetch(Q["event_bodies"], case_id, through_seq)
    bodies = [bytes(r["body"]) for r in rows if r["body"] is not None]
    if len(bodies) != through_seq:
        raise LookupError(f"case {case_id}: triage holds {len(bodies)} of events 1..{through_seq}")
    return bodies
