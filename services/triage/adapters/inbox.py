"""The cases that may wait on an office (the officer's workspace's inbox): read from triage's own table of
cases; which of them do wait on the officer is the workflow's answer (``entrypoints.http.workspace``)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.triage.adapters import SQL
from services.triage.domain.state import CaseState

Q = SQL.queries("inbox")


async def open_cases_touching(
    conn: asyncpg.Connection, jurisdictions: Sequence[str], limit: int
) -> list[CaseState]:
    """Open cases in ``jurisdictions``, reported up to, offered to or transferred to an office there, the
    most recently changed first, at most ``limit``."""
    rows = await conn.fetch(Q["open_cases_touching"], list(jurisdictions), limit)
    return [CaseState.model_validate_json(r["state"]) for r in rows]
