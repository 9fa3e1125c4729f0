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


async def load_case(conn: asyncpg.Connection, case_id: uuid.UUID) -> CaseFacts | None:
    """The case's facts as notify holds them now."""
    row = await conn.fetchrow(Q["load"], case_id)
    return _facts(row) if row is not None else None


async def load_cases(conn: asyncpg.Connection, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, CaseFacts]:
    """The facts of those of ``case_ids`` notify knows, locked for the caller's transaction in case id order
    (two transactions over the same cases never wait on each other crosswise)."""
    return {row["case_id"]: _facts(row) for row in await conn.fetch(Q["load_many_for_update"], case_ids)}


async def save_cases(conn: asyncpg.Connection, changed: list[CaseFacts]) -> None:
    """Write the facts of ``changed`` cases (new or folded further), in one round trip."""
    await conn.executemany(
        Q["save"],
        [
            (
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
            for facts in changed
        ],
    )


async def open_key_cases(conn: asyncpg.Connection) -> list[CaseFacts]:
    """Key cases not closed that have a limit to remind of."""
    return [_facts(r) for r in await conn.fetch(Q["open_key_cases"])]


async def is_case(conn: asyncpg.Connection, case_id: uuid.UUID) -> bool:
    """Whether notify knows ``case_id`` as a case (an alert's stream may be of no case)."""
    return bool(await conn.fetchval(Q["known"], case_id))
