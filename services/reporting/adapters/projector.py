"""Applies case events to one projection version: the ledger, the history, the grade counts and each
case's month rows (the state the work and disposal tables sum).

The same code serves the live consumer (one event at a time, inside its batch transaction) and the
rebuild (thousands of events per transaction): it loads the touched cases once, decides and folds in
memory with the pure domain functions, then writes the changed rows in bulk.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from operator import attrgetter
from typing import Any, get_args, get_origin, get_type_hints

import asyncpg

from cluetrail.consume import Incoming
from contracts import jsontext
from contracts.vocabulary import CaseStatus, ClueSource, Determination, Grade, Outcome
from services.reporting.adapters import SQL
from services.reporting.domain.handoffs import Handoff
from services.reporting.domain.ledger import ChainBroken, LedgerState, Step, chain_step, fold, grade_changes
from services.reporting.domain.periods import Period
from services.reporting.domain.tables import MONTH_FIGURES, CaseMonth, CaseRecord, Fact, case_months

Q = SQL.queries("projection")
# The consumer whose positions in a version are the case log's: the live consumer (its Kafka group) and a
# rebuild store them alike, so the live consumer goes on where a rebuilt version stands.
CASE_CONSUMER = "reporting"
LEDGER_COLUMNS = tuple(f.name for f in fields(LedgerState))
HISTORY_COLUMNS = (
    "case_id", "seq", "event_id", "type", "schema_version", "occurred_at", "recorded_at", "actor",
    "prev_hash", "hash", "payload", "kafka_partition", "kafka_offset", "jurisdiction",
)  # fmt: skip
# From this many history rows on, COPY is cheaper than passing them as arrays.
COPY_THRESHOLD = 50
MONTH_COLUMNS = (
    "case_id", "period", "present", "end_jurisdiction", "end_sector", "end_grade", "end_determination",
    "end_open", "end_closed", "end_transferred", "end_accepted", "end_recovered_yuan", "clue_at",
    "end_amount_yuan", "end_participants", *MONTH_FIGURES,
)  # fmt: skip


def inserted_columns(statement: str, table: str) -> tuple[str, ...]:
    """The column list of ``statement``'s ``INSERT INTO table (…)``, in order (empty: none)."""
    found = re.search(rf"INSERT INTO {table} \(([^)]*)\)", statement)
    return tuple(name.strip() for name in found.group(1).split(",")) if found else ()


def _check_write_changes() -> None:
    """``write_changes`` (queries/projection.sql) takes the columns in the order this code passes them; a
    list written there that differs from the code's is refused when the projector is loaded, naming it."""
    statement = Q["write_changes"]
    for table, columns in (("ledger", LEDGER_COLUMNS), ("history", HISTORY_COLUMNS),
                           ("case_months", MONTH_COLUMNS)):  # fmt: skip
        if inserted_columns(statement, table) != columns:
            raise RuntimeError(
                f"queries/projection.sql write_changes inserts into {table} other columns than the "
                f"projector passes: {', '.join(columns)}"
            )


_check_write_changes()


@dataclass
class Applied:
    """What one call did: events folded, repeats skipped, and events refused with the reason."""

    applied: int = 0
    duplicates: int = 0
    rejected: list[tuple[Incoming, str]] = field(default_factory=list)


def state_from_row(row: asyncpg.Record) -> LedgerState:
    values = {name: row[name] for name in LEDGER_COLUMNS}
    for name in _JSON_COLUMNS:
        values[name] = tuple(json.loads(values[name]))
    for name in _HANDOFF_COLUMNS:
        values[name] = Handoff.from_json(json.loads(values[name]) if values[name] is not None else None)
    return LedgerState(
        **{
            **values,
            "status": CaseStatus(values["status"]),
            "source": ClueSource(values["source"]),
            "grade": Grade(values["grade"]) if values["grade"] else None,
            "determination": Determination(values["determination"]) if values["determination"] else None,
            "outcome": Outcome(values["outcome"]) if values["outcome"] else None,
        }
    )


def _json_array(value: tuple[str, ...]) -> str:
    return json.dumps(list(value), ensure_ascii=False) if value else "[]"


def _code(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def _handoff_json(value: Handoff | None) -> str | None:
    return None if value is None else json.dumps(value.as_json(), ensure_ascii=False)


def _holds_codes(name: str) -> bool:
    """Whether a ledger column holds enum members (``Grade | None``…), which go to the database as codes."""
    hint = _LEDGER_HINTS[name]
    return any(isinstance(kind, type) and issubclass(kind, Enum) for kind in (get_args(hint) or (hint,)))


_LEDGER_HINTS = get_type_hints(LedgerState)
# The columns holding lists (tuples in the state, JSON arrays in the table: jsonb).
_JSON_COLUMNS = frozenset(name for name in LEDGER_COLUMNS if get_origin(_LEDGER_HINTS[name]) is tuple)
# The columns holding a handoff (an object in the state, a JSON object or NULL in the table: jsonb).
_HANDOFF_COLUMNS = frozenset(name for name in LEDGER_COLUMNS if Handoff in get_args(_LEDGER_HINTS[name]))
_LEDGER_ROW = attrgetter(*LEDGER_COLUMNS)
# The columns that need encoding, by position: tuples as JSON arrays, handoffs as JSON objects, enum
# members as their codes.
_ENCODERS: dict[int, Callable[[Any], object]] = {
    index: _json_array if name in _JSON_COLUMNS else _handoff_json if name in _HANDOFF_COLUMNS else _code
    for index, name in enumerate(LEDGER_COLUMNS)
    if name in _JSON_COLUMNS or name in _HANDOFF_COLUMNS or _holds_codes(name)
}


def _ledger_columns(states: Sequence[LedgerState]) -> list[list[object]]:
    """The changed ledger rows, one list per column (the shape ``unnest`` takes)."""
    columns = _columns([_LEDGER_ROW(state) for state in states], len(LEDGER_COLUMNS))
    for index, encode in _ENCODERS.items():
        columns[index] = [encode(value) for value in columns[index]]
    return columns


def _ledger_records(states: Sequence[LedgerState]) -> list[tuple[object, ...]]:
    """The same rows as ``_ledger_columns``, one tuple per row (the shape COPY takes)."""
    encoders = list(_ENCODERS.items())
    records = []
    for state in states:
        row = list(_LEDGER_ROW(state))
        for index, encode in encoders:
            row[index] = encode(row[index])
        records.append(tuple(row))
    return records


def _history_values(incoming: Incoming) -> tuple[object, ...]:
    event, document, record, plain = incoming.event, incoming.document, incoming.record, incoming.plain
    return (
        event.case_id,
        event.seq,
        event.event_id,
        event.type,
        event.schema_version,
        event.occurred_at,
        event.recorded_at,
        jsontext.text(document["actor"], plain=plain),
        event.prev_hash,
        event.hash,
        # The payload as written (before upcasting), so an auditor sees what the hash covers.
        jsontext.text(document["payload"], plain=plain),
        record.partition,
        record.offset,
        event.jurisdiction,
    )


def _month_values(case_id: uuid.UUID, row: CaseMonth) -> tuple[object, ...]:
    return (
        case_id, row.period, row.present, row.jurisdiction, row.sector, row.grade, row.determination,
        row.open, row.closed, row.transferred, row.accepted, row.recovered_yuan, row.clue_at,
        row.amount_yuan, row.participants,
        *(row.figures.get(key, 0) for key in MONTH_FIGURES),
    )  # fmt: skip


async def _month_rows(
    conn: asyncpg.Connection, new_facts: dict[uuid.UUID, list[Fact]], known: set[uuid.UUID]
) -> list[tuple[object, ...]]:
    """The month rows to write for the cases that got ``new_facts``: each case is replayed from all its
    facts (those already in the history, then the new ones), from the month of its earliest new fact on."""
    earlier: dict[uuid.UUID, list[Fact]] = {}
    stored = [case_id for case_id in new_facts if case_id in known]
    if stored:
        for h in await conn.fetch(Q["case_facts"], stored):
            earlier.setdefault(h["case_id"], []).append(
                Fact(h["type"], h["occurred_at"], h["jurisdiction"], json.loads(h["payload"]))
            )
    out: list[tuple[object, ...]] = []
    for case_id, facts in new_facts.items():
        case = CaseRecord({"case_id": case_id}, (*earlier.get(case_id, ()), *facts))
        since = min(Period.of(fact.occurred_at) for fact in facts)
        out.extend(_month_values(case_id, row) for row in case_months(case, since))
    return out


def _columns(rows: Sequence[tuple[object, ...]], width: int) -> list[list[object]]:
    """Rows turned into one list per column, the shape ``unnest`` takes."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


async def apply_events(
    conn: asyncpg.Connection, events: Sequence[Incoming], *, bulk: bool = False
) -> Applied:
    """Apply ``events`` (in log order) to the schema the transaction's search_path names.

    ``bulk``: the caller has the schema to itself (a build, under its build lock), so the rows of cases
    not in it yet are added by COPY rather than upserted: nothing else can add them meanwhile."""
    result = Applied()
    if not events:
        return result
    case_ids = list({incoming.event.case_id for incoming in events})
    rows = await conn.fetch(Q["ledger_rows_for_update"], case_ids)
    before = {row["case_id"]: state_from_row(row) for row in rows}
    states: dict[uuid.UUID, LedgerState] = dict(before)
    recorded: dict[tuple[uuid.UUID, int], str] = {}  # hashes written in this call, not yet in the table
    history: list[tuple[object, ...]] = []
    grades: Counter[tuple[str, str]] = Counter()
    new_facts: dict[uuid.UUID, list[Fact]] = {}
    for incoming in events:
        event = incoming.event
        state = states.get(event.case_id)
        hash_at_seq = None
        if state is not None and event.seq < state.last_seq:
            hash_at_seq = recorded.get((event.case_id, event.seq)) or await conn.fetchval(
                Q["hash_at_seq"], event.case_id, event.seq
            )
        try:
            if chain_step(state, event, hash_at_seq) is Step.DUPLICATE:
                result.duplicates += 1
                continue
            folded = fold(state, event)
        except ChainBroken as exc:
            result.rejected.append((incoming, exc.reason))
            continue
        for cell, change in grade_changes(state, folded).items():
            grades[cell] += change
        states[event.case_id] = folded
        recorded[(event.case_id, event.seq)] = event.hash
        history.append(_history_values(incoming))
        new_facts.setdefault(event.case_id, []).append(
            Fact(event.type, event.occurred_at, event.jurisdiction, incoming.document["payload"])
        )
        result.applied += 1
    changed = [state for case_id, state in states.items() if before.get(case_id) is not state]
    # Read the stored facts before this call's history rows are written.
    months = await _month_rows(conn, new_facts, set(before))
    if bulk:
        added = [state for state in changed if state.case_id not in before]
        if added:
            changed = [state for state in changed if state.case_id in before]
            await conn.copy_records_to_table("ledger", records=_ledger_records(added), columns=LEDGER_COLUMNS)
            await conn.copy_records_to_table(
                "case_months", records=[row for row in months if row[0] not in before], columns=MONTH_COLUMNS
            )
            months = [row for row in months if row[0] in before]
    if len(history) >= COPY_THRESHOLD:
        await conn.copy_records_to_table("history", records=history, columns=HISTORY_COLUMNS)
        history = []
    counts = [(j, g, n) for (j, g), n in sorted(grades.items()) if n != 0]
    if changed or history or counts or months:
        await conn.execute(
            Q["write_changes"],
            *_ledger_columns(changed),
            *_columns(history, len(HISTORY_COLUMNS)),
            *_columns(counts, 3),
            *_columns(months, len(MONTH_COLUMNS)),
        )
    return result


async def store_positions(
    conn: asyncpg.Connection, consumer: str, topic: str, offsets: dict[int, int]
) -> None:
    """Record the last offset applied per partition (the live consumer's convention)."""
    await conn.executemany(
        Q["upsert_position"],
        [(consumer, topic, partition, offset) for partition, offset in offsets.items()],
    )


async def stored_positions(conn: asyncpg.Connection, consumer: str, topic: str) -> dict[int, int]:
    return {r["partition"]: r["offset"] for r in await conn.fetch(Q["positions"], consumer, topic)}


async def empty_case_tables(conn: asyncpg.Connection) -> None:
    """Empty the case tables of the schema the transaction's search_path names (a build that starts over)."""
    await conn.execute(Q["empty_case_tables"])


async def count_cases(conn: asyncpg.Connection) -> int:
    """The cases of the schema the transaction's search_path names."""
    return int(await conn.fetchval(Q["count_cases"]))
