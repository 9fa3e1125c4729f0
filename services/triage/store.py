"""Triage's own tables: case state, the chain of event hashes it holds, and facts about the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from contracts.envelope import Envelope
from contracts.events import event_bytes
from services.triage.domain.state import CaseState

CAUGHT_UP = "caught-up-with-log"


async def load(conn: asyncpg.Connection, case_id: uuid.UUID, *, for_update: bool = False) -> CaseState | None:
    """The case's state, or None if triage has no such case. ``for_update`` locks the row."""
    lock = " FOR UPDATE" if for_update else ""
    raw = await conn.fetchval(f"SELECT state FROM cases WHERE case_id = $1{lock}", case_id)
    return None if raw is None else CaseState.model_validate_json(raw)


async def save(conn: asyncpg.Connection, state: CaseState, events: Sequence[Envelope]) -> None:
    """Store the state reached by ``events`` (already folded into it) and their place in the chain."""
    await conn.executemany(
        "INSERT INTO case_events (case_id, seq, event_id, type, hash, body) VALUES ($1, $2, $3, $4, $5, $6)",
        [(e.case_id, e.seq, e.event_id, e.type, e.hash, event_bytes(e)) for e in events],
    )
    await conn.execute(
        """
        INSERT INTO cases (case_id, status, jurisdiction, grade, score, key_case, determination, outcome,
                           last_seq, last_hash, state, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, now())
        ON CONFLICT (case_id) DO UPDATE SET
            status = EXCLUDED.status, jurisdiction = EXCLUDED.jurisdiction, grade = EXCLUDED.grade,
            score = EXCLUDED.score, key_case = EXCLUDED.key_case, determination = EXCLUDED.determination,
            outcome = EXCLUDED.outcome, last_seq = EXCLUDED.last_seq, last_hash = EXCLUDED.last_hash,
            state = EXCLUDED.state, updated_at = now()
        """,
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
    rows = await conn.fetch(
        "SELECT case_id FROM cases WHERE status NOT IN ('closed', 'written_off', 'merged')"
    )
    return [r["case_id"] for r in rows]


async def event_bodies(conn: asyncpg.Connection, case_id: uuid.UUID, through_seq: int) -> list[bytes]:
    """The case's events 1..through_seq as written (for a referral bundle); raises if one is missing."""
    rows = await conn.fetch(
        "SELECT seq, body FROM case_events WHERE case_id = $1 AND seq <= $2 ORDER BY seq",
        case_id,
        through_seq,
    )
    bodies = [bytes(r["body"]) for r in rows if r["body"] is not None]
    if len(bodies) != through_seq:
        raise LookupError(f"case {case_id}: triage holds {len(bodies)} of events 1..{through_seq}")
    return bodies


async def case_on_file(
    conn: asyncpg.Connection, keys: Sequence[str], *, other_than: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """The case (other than ``other_than``) a subject key was first reported in, and that key, trying
    ``keys`` in order."""
    for key in keys:
        found: uuid.UUID | None = await conn.fetchval(
            "SELECT case_id FROM subjects WHERE key = $1 AND case_id <> $2", key, other_than
        )
        if found is not None:
            return found, key
    return None


# Sorts after every real report time: such a case never takes a key over.
UNKNOWN_REPORT_TIME = datetime.max.replace(tzinfo=UTC)


async def put_on_file(
    conn: asyncpg.Connection, keys: Sequence[str], case_id: uuid.UUID, reported_at: datetime | None
) -> None:
    """Record the subject keys of a case reported at ``reported_at``; a key on file stays with the case that
    reported it first (ties: the lower case id), whichever of the two was applied first. A case of unknown
    report time (a state stored before it was kept) files only keys not on file yet."""
    await conn.executemany(
        "INSERT INTO subjects (key, case_id, reported_at) VALUES ($1, $2, $3) "
        "ON CONFLICT (key) DO UPDATE SET case_id = EXCLUDED.case_id, reported_at = EXCLUDED.reported_at "
        "WHERE (EXCLUDED.reported_at, EXCLUDED.case_id) < (subjects.reported_at, subjects.case_id)",
        [(key, case_id, reported_at or UNKNOWN_REPORT_TIME) for key in keys],
    )


async def refile(
    conn: asyncpg.Connection,
    keys: Sequence[str],
    case_id: uuid.UUID,
    reported_at: datetime | None,
    *,
    away_from: uuid.UUID,
) -> None:
    """File ``keys`` under ``case_id``: those on file under ``away_from`` move, those not on file are added
    (a clue split off a case takes its own subject keys with it)."""
    await conn.execute(
        "UPDATE subjects SET case_id = $2, reported_at = COALESCE($4, reported_at) "
        "WHERE key = ANY($1::text[]) AND case_id = $3",
        list(keys),
        case_id,
        away_from,
        reported_at,
    )
    await put_on_file(conn, keys, case_id, reported_at)


async def meta(conn: asyncpg.Connection, key: str) -> object | None:
    raw = await conn.fetchval("SELECT value FROM triage_meta WHERE key = $1", key)
    return None if raw is None else json.loads(raw)


async def set_meta(conn: asyncpg.Connection, key: str, value: object) -> None:
    await conn.execute(
        "INSERT INTO triage_meta (key, value) VALUES ($1, $2::jsonb) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()",
        key,
        json.dumps(value),
    )
