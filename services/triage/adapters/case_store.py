"""Triage's tables as its consumer reads and writes them while it applies the case log, in one of two ways
with the same outcome:

- ``CaseTables``: each read and write a statement of its own, at once (a record applied alone, in its own
  savepoint; the catch-up's sweep);
- ``CaseBatch``: a whole batch of records in a handful of round trips: the cases of the batch (and those its
  clues may be linked to) loaded and locked in one statement, the subject keys of its clues read in one, and
  all it writes kept in memory, then written at the end with one statement per table. Each round trip wakes
  a PostgreSQL backend on the same few cores: applied record by record, a batch paid about eleven per clue
  (four per record: a clue, triage's own decisions read back).

A batch keeps in memory what its own records did, so each record sees the cases and subjects on file as the
records before it left them, exactly as if each had been written at once. Cases are locked from the start;
subject keys are only read, and written at the end only where each still stands as read (``SubjectsMoved``
otherwise: another transaction filed or moved one meanwhile, so a decision of the batch may rest on a file
that no longer holds, and the batch is applied again record by record).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

import asyncpg

from cluetrail.outbox import add_to_outbox
from contracts.envelope import Envelope
from services.triage.adapters import anchors, cases, subjects
from services.triage.adapters.subjects import Holder
from services.triage.domain.state import CaseState


class SubjectsMoved(Exception):
    """A subject key a batch read was filed or moved by another transaction before the batch wrote it."""


class CaseStore(Protocol):
    """What the consumer reads and writes for one record, in the caller's transaction."""

    async def load(self, case_id: uuid.UUID) -> CaseState | None:
        """The case's state (None if triage has no such case), its row locked."""

    async def note_head(self, case_id: uuid.UUID, seq: int, hash: str) -> None:
        """``anchors.note_head``."""

    async def put_on_file(
        self, keys: Sequence[str], case_id: uuid.UUID, reported_at: datetime | None
    ) -> None:
        """``subjects.put_on_file``."""

    async def case_on_file(
        self, keys: Sequence[str], *, other_than: uuid.UUID
    ) -> tuple[uuid.UUID, str] | None:
        """``subjects.case_on_file``."""

    async def save(self, state: CaseState, events: Sequence[Envelope]) -> None:
        """``cases.save``: the state reached by ``events``, which this region writes."""

    async def queue(self, events: Sequence[Envelope]) -> None:
        """Put events triage decided in the outbox."""


class CaseTables:
    """Each read and write a statement, at once."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def load(self, case_id: uuid.UUID) -> CaseState | None:
        return await cases.load(self._conn, case_id, for_update=True)

    async def note_head(self, case_id: uuid.UUID, seq: int, hash: str) -> None:
        await anchors.note_head(self._conn, case_id, seq, hash)

    async def put_on_file(
        self, keys: Sequence[str], case_id: uuid.UUID, reported_at: datetime | None
    ) -> None:
        await subjects.put_on_file(self._conn, keys, case_id, reported_at)

    async def case_on_file(
        self, keys: Sequence[str], *, other_than: uuid.UUID
    ) -> tuple[uuid.UUID, str] | None:
        return await subjects.case_on_file(self._conn, keys, other_than=other_than)

    async def save(self, state: CaseState, events: Sequence[Envelope]) -> None:
        await cases.save(self._conn, state, events)

    async def queue(self, events: Sequence[Envelope]) -> None:
        await add_to_outbox(self._conn, events)


class CaseBatch:
    """A batch's reads answered from memory after one load, its writes kept until ``write`` (see above)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._states: dict[uuid.UUID, CaseState | None] = {}
        # Subject keys: their holders as read from the table, and as the batch's records left them.
        self._read: dict[str, Holder | None] = {}
        self._held: dict[str, Holder | None] = {}
        self._touched: set[str] = set()
        self._saved: dict[uuid.UUID, CaseState] = {}
        self._events: list[Envelope] = []
        self._outbox: list[Envelope] = []
        self._heads: dict[uuid.UUID, tuple[int, str]] = {}

    @classmethod
    async def open(
        cls,
        conn: asyncpg.Connection,
        case_ids: Iterable[uuid.UUID],
        keys: Iterable[str],
        *,
        with_holders: bool,
    ) -> CaseBatch:
        """Read the subject keys the batch's clues file, then load and lock its cases — with the cases
        holding those keys when ``with_holders`` (the batch decides, so its clues may be linked to them)."""
        batch = cls(conn)
        await batch._read_keys(keys)
        wanted = set(case_ids)
        if with_holders:
            wanted.update(held[1] for held in batch._read.values() if held is not None)
        await batch._load(wanted)
        return batch

    async def load(self, case_id: uuid.UUID) -> CaseState | None:
        if case_id not in self._states:
            await self._load([case_id])
        return self._states[case_id]

    async def note_head(self, case_id: uuid.UUID, seq: int, hash: str) -> None:
        noted = self._heads.get(case_id)
        if noted is None or noted[0] < seq:
            self._heads[case_id] = (seq, hash)

    async def put_on_file(
        self, keys: Sequence[str], case_id: uuid.UUID, reported_at: datetime | None
    ) -> None:
        await self._read_keys(keys)
        filing = subjects.holder(case_id, reported_at)
        for key in keys:
            self._touched.add(key)
            if subjects.takes_over(filing, self._held[key]):
                self._held[key] = filing

    async def case_on_file(
        self, keys: Sequence[str], *, other_than: uuid.UUID
    ) -> tuple[uuid.UUID, str] | None:
        await self._read_keys(keys)
        for key in keys:
            self._touched.add(key)
            held = self._held[key]
            if held is not None and held[1] != other_than:
                return held[1], key
        return None

    async def save(self, state: CaseState, events: Sequence[Envelope]) -> None:
        self._states[state.case_id] = state
        self._saved[state.case_id] = state
        self._events.extend(events)

    async def queue(self, events: Sequence[Envelope]) -> None:
        self._outbox.extend(events)

    async def write(self) -> None:
        """Write what the batch did: subject keys first (raises ``SubjectsMoved`` before anything else is
        written when one no longer stands as read), then the cases and their events, the outbox and the
        heads. The caller's transaction commits it with the consumer's positions."""
        await self._file_keys()
        await cases.save_many(self._conn, self._saved.values(), self._events)
        if self._outbox:
            await add_to_outbox(self._conn, self._outbox)
        if self._heads:
            await anchors.note_heads(self._conn, self._heads)

    async def _file_keys(self) -> None:
        # Every key looked up was filed first by the same clue (the consumer files a clue's keys, then looks
        # them up), so every key touched has a holder by now; one without would have nothing to write.
        filed = [(key, self._read[key], held) for key in sorted(self._touched) if (held := self._held[key])]
        if not filed:
            return
        written = await subjects.file_as_read(self._conn, filed)
        moved = sorted({key for key, _, _ in filed} - written)
        if moved:
            raise SubjectsMoved(f"subject keys filed or moved by another transaction meanwhile: {moved}")

    async def _read_keys(self, keys: Iterable[str]) -> None:
        unread = [key for key in dict.fromkeys(keys) if key not in self._read]
        if not unread:
            return
        found = await subjects.holders(self._conn, unread)
        for key in unread:
            self._read[key] = self._held[key] = found.get(key)

    async def _load(self, case_ids: Iterable[uuid.UUID]) -> None:
        wanted = [case_id for case_id in case_ids if case_id not in self._states]
        if not wanted:
            return
        found = await cases.load_many(self._conn, wanted)
        for case_id in wanted:
            self._states[case_id] = found.get(case_id)
