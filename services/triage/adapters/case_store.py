"""Triage's tables as its consumer reads and writes them while it applies the case log, in one of two ways
with the same outcome:

- ``CaseTables``: each read and write a statement of its own, at once (a record applied alone, in its own
  savepoint; the catch-up's sweep);
- ``CaseBatch``: a whole batch of records in two round trips: the cases of the batch (and those its clues
  may be linked to) loaded and locked, and who holds the subject keys of its clues read, in one statement;
  all it writes kept in memory, then written at the end in one statement with its outbox rows. Each round
  trip wakes a PostgreSQL backend on the same few cores: applied record by record, a batch paid about eleven
  per clue (four per record: a clue, and triage's own decisions read back).

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

from cluetrail.outbox import add_to_outbox, outbox_row
from contracts.envelope import Envelope
from contracts.events import event_bytes
from services.triage.adapters import SQL, anchors, cases, subjects
from services.triage.adapters.subjects import Holder
from services.triage.domain.state import CaseState

Q = SQL.queries("batches")


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
        """Read who holds the subject keys the batch's clues file, and load and lock its cases — with the
        cases holding those keys when ``with_holders`` (the batch decides, so its clues may be linked to
        them) — in one statement."""
        batch = cls(conn)
        await batch._read_and_lock(case_ids, keys, with_holders=with_holders)
        return batch

    async def load(self, case_id: uuid.UUID) -> CaseState | None:
        if case_id not in self._states:
            # A case none of the batch's records named: the case a holder of a key was merged into.
            self._states[case_id] = await cases.load(self._conn, case_id, for_update=True)
        return self._states[case_id]

    async def note_head(self, case_id: uuid.UUID, seq: int, hash: str) -> None:
        noted = self._heads.get(case_id)
        if noted is None or noted[0] < seq:
            self._heads[case_id] = (seq, hash)

    async def put_on_file(
        self, keys: Sequence[str], case_id: uuid.UUID, reported_at: datetime | None
    ) -> None:
        await self._read_and_lock([], keys, with_holders=False)
        filing = subjects.holder(case_id, reported_at)
        for key in keys:
            self._touched.add(key)
            if subjects.takes_over(filing, self._held[key]):
                self._held[key] = filing

    async def case_on_file(
        self, keys: Sequence[str], *, other_than: uuid.UUID
    ) -> tuple[uuid.UUID, str] | None:
        await self._read_and_lock([], keys, with_holders=False)
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
        """Write what the batch did, in the caller's transaction (committed with the consumer's positions):
        the chain events, cases, heads, subject keys and outbox rows in one statement, raising
        ``SubjectsMoved`` when a key no longer stands as read."""
        raw = {e.event_id: event_bytes(e) for e in self._events}
        events = [cases.event_row(e, raw[e.event_id]) for e in self._events]
        outbox = [outbox_row(e, raw.get(e.event_id) or event_bytes(e)) for e in self._outbox]
        states = [cases.state_row(s) for s in self._saved.values()]
        heads = [(case_id, seq, hash) for case_id, (seq, hash) in self._heads.items()]
        # Every key looked up was filed first by the same clue (the consumer files a clue's keys, then looks
        # them up), so every key touched has a holder by now; one without would have nothing to write.
        filed = [(key, self._read[key], held) for key in sorted(self._touched) if (held := self._held[key])]
        rows = await self._conn.fetch(
            Q["write"],
            *_columns(events, 6),
            *_columns(states, 11),
            *_columns(heads, 3),
            [key for key, _, _ in filed],
            [None if read is None else read[1] for _, read, _ in filed],
            [None if read is None else read[0] for _, read, _ in filed],
            [held[1] for _, _, held in filed],
            [held[0] for _, _, held in filed],
            *_columns(outbox, 5),
        )
        moved = sorted({key for key, _, _ in filed} - {r["key"] for r in rows})
        if moved:
            raise SubjectsMoved(f"subject keys filed or moved by another transaction meanwhile: {moved}")

    async def _read_and_lock(
        self, case_ids: Iterable[uuid.UUID], keys: Iterable[str], *, with_holders: bool
    ) -> None:
        wanted = [case_id for case_id in dict.fromkeys(case_ids) if case_id not in self._states]
        unread = [key for key in dict.fromkeys(keys) if key not in self._read]
        if not wanted and not unread:
            return
        rows = await self._conn.fetch(Q["read"], wanted, unread, with_holders)
        for case_id in wanted:
            self._states[case_id] = None
        for row in rows:
            if row["key"] is not None:
                self._read[row["key"]] = (subjects.aware(row["reported_at"]), row["case_id"])
            elif row["state"] is not None:
                self._states[row["case_id"]] = CaseState.model_validate_json(row["state"])
        for key in unread:
            self._held[key] = self._read.setdefault(key, None)


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows as the arrays ``unnest`` takes, one per column."""
    return [[row[i] for row in rows] for i in range(width)]
