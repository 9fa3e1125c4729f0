"""What notify knows of each case from its events (``CaseFacts``): enough to route, to write a notice and to
remind of a key case's limits; never anything of the reporter."""

from __future__ import annotations

import uuid

import asyncpg

from services.notify.adapters import SQL
from services.notify.domain.cases import CaseFacts

Q = SQL.queries("cases")


def _facts(row: asyncpg.Record) -> CaseFacts:
    return CaseFacts(
        **{
            **dict(row),
            "hashes": tuple(row["hashes"]),
            "earlier_jurisdictions": tuple(row["earlier_jurisdictions"]),
            "key_case_reasons": tuple(row["key_case_reasons"]),
        }
    )


async def load_case(conn: asyncpg.Connection, case_id: uuid.UUID, *, lock: bool = True) -> CaseFacts | None:
    """The case's facts, locked for the caller's transaction (events of one case apply one at a time)."""
    row = await conn.fetchrow(Q["load_for_update" if lock else "load"], case_id)
    return _facts(row) if row is not None else None


async def save_case(conn: asyncpg.Connection, facts: CaseFacts) -> None:
    await conn.execute(
        Q["save"],
        facts.case_id,
        facts.jurisdiction,
        facts.last_seq,
        facts.grade,
        facts.key_case,
        facts.responsible_department,
        facts.police_transferred_on,
        facts.criminal_filed_on,
        facts.trial_and_return_by,
        facts.supervision_from,
        facts.clearance_by,
        facts.closed,
        facts.subject_name,
        facts.subject_kind,
        facts.sector,
        facts.estimated_amount_yuan,
        facts.participants,
        facts.hashes,
        facts.earlier_jurisdictions,
        facts.key_case_reasons,
    )


async def open_key_cases(conn: asyncpg.Connection) -> list[CaseFacts]:
    """Key cases not closed that have a limit to remind of."""
    return [_facts(r) for r in await conn.fetch(Q["open_key_cases"])]


async def is_case(conn: asyncpg.Connection, case_id: uuid.UUID) -> bool:
    """Whether notify knows ``case_id`` as a case (an alert's stream may be of no case)."""
    return bool(await conn.fetchval(Q["known"], case_id))
