"""Triage's cases: the folded state of each (with the columns officers and operators query) and the chain of
events it holds for each, with their bytes as written."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

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


async def load_many(conn: asyncpg.Connection, case_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, CaseState]:
    """The states of those of ``case_ids`` triage has, each row locked for the caller's transaction; rows are
    locked in case id order, so two callers locking overlapping cases never wait on each other crosswise."""
    rows = await conn.fetch(Q["states_for_update"], sorted(set(case_ids)))
    return {r["case_id"]: CaseState.model_validate_json(r["state"]) for r in rows}


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
        Q["add_event"], [_event_row(e, body) for e, body in zip(events, bodies, strict=True)]
    )
    await conn.execute(Q["save"], *_state_row(state))


async def save_many(
    conn: asyncpg.Connection, states: Iterable[CaseState], events: Sequence[Envelope]
) -> None:
    """``save`` of several cases at once: ``events`` (in chain order within each case) and the states they
    reached, as this region writes them."""
    if events:
        await conn.executemany(Q["add_event"], [_event_row(e, event_bytes(e)) for e in events])
    rows = [_state_row(s) for s in sorted(states, key=lambda s: s.case_id)]
    if rows:
        await conn.executemany(Q["save"], rows)


def _event_row(event: Envelope, body: bytes) -> tuple[object, ...]:
    return (event.case_id, event.seq, event.event_id, event.type, event.hash, body)


def _state_row(state: CaseState) -> tuple[object, ...]:
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
