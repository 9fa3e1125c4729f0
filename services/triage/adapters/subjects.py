"""Subjects on file (dedup): each key of a clue's subject (``domain.dedup``) belongs to the case that reported
it first by the log's own clock, so a database rebuilt from the log links a later clue as the live one did."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import asyncpg

from services.triage.adapters import SQL

Q = SQL.queries("subjects")
# Sorts after every real report time: such a case never takes a key over.
UNKNOWN_REPORT_TIME = datetime.max.replace(tzinfo=UTC)
# Who holds a key: the time the case reported the subject, then the case (the order ``put_on_file`` keeps).
Holder = tuple[datetime, uuid.UUID]


def holder(case_id: uuid.UUID, reported_at: datetime | None) -> Holder:
    """A case filing a key, as ``put_on_file`` weighs it against the key's holder."""
    return (reported_at or UNKNOWN_REPORT_TIME, case_id)


def takes_over(filing: Holder, held: Holder | None) -> bool:
    """Whether a case filing a key takes it from its holder (``held``; None when the key is not on file):
    the rule of ``put_on_file``, for a caller that files keys in memory first (a consumer's batch)."""
    return held is None or filing < held


async def case_on_file(
    conn: asyncpg.Connection, keys: Sequence[str], *, other_than: uuid.UUID
) -> tuple[uuid.UUID, str] | None:
    """The case (other than ``other_than``) a subject key was first reported in, and that key, trying
    ``keys`` in order."""
    for key in keys:
        found: uuid.UUID | None = await conn.fetchval(Q["case_on_file"], key, other_than)
        if found is not None:
            return found, key
    return None


async def put_on_file(
    conn: asyncpg.Connection, keys: Sequence[str], case_id: uuid.UUID, reported_at: datetime | None
) -> None:
    """Record the subject keys of a case reported at ``reported_at``; a key on file stays with the case that
    reported it first (ties: the lower case id), whichever of the two was applied first. A case of unknown
    report time (a state stored before it was kept) files only keys not on file yet."""
    await conn.executemany(
        Q["put_on_file"], [(key, case_id, reported_at or UNKNOWN_REPORT_TIME) for key in keys]
    )


def aware(at: datetime) -> datetime:
    """A report time as read. asyncpg reads PostgreSQL's ±infinity (``UNKNOWN_REPORT_TIME``; keys filed
    before report times were kept) as naive ``datetime.max``/``min``; every other instant comes back aware."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


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
    await conn.execute(Q["move"], list(keys), case_id, away_from, reported_at)
    await put_on_file(conn, keys, case_id, reported_at)
