"""Evidence files kept by intake, by the SHA-256 of their content (``domain.evidence``)."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from services.intake.adapters import SQL
from services.intake.domain.evidence import EvidenceFile

Q = SQL.queries("evidence")


async def store(conn: asyncpg.Connection, files: Sequence[EvidenceFile]) -> None:
    """Keep each file under its digest (a file kept before stays as it is: same digest, same content)."""
    await conn.executemany(Q["store"], [(f.sha256, f.media_type, f.size_bytes, f.content) for f in files])


async def by_digest(conn: asyncpg.Connection, sha256: str) -> EvidenceFile | None:
    """The file kept under ``sha256``, or None."""
    row = await conn.fetchrow(Q["by_digest"], sha256)
    if row is None:
        return None
    return EvidenceFile(row["sha256"], row["media_type"], row["size_bytes"], None, bytes(row["content"]))
