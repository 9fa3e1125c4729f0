"""The peer: the same case events processed by the eventsourcing library into the same ledger table.

eventsourcing (PyPI, with its PostgreSQL persistence) keeps events in its own PostgreSQL event store and
projects them with a ``ProjectionRunner``: it follows the application's notification log and hands each
event to a ``Projection`` whose view is a ``PostgresTrackingRecorder``, which writes the view's rows and a
tracking row (application name, notification id) in one transaction, so a restart goes on after the last
event it recorded. That is what cluetrail's consumers do with their positions.

Per event the peer does the work cluetrail's projector does to the ledger, with cluetrail's own functions:
the record is read as a case event (``cluetrail.consume.decode_record``: JSON, pydantic validation of the
envelope, the SHA-256 of its canonical bytes checked), the chain step decides it continues its case, and
the ledger row is folded and written. It does not write the history, grade counts or month rows that
reporting's projector also writes, and it keeps no history, so it cannot tell a late copy of an old event
from a fork. docs/performance.md compares the two.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit

import asyncpg
from aiokafka import ConsumerRecord
from eventsourcing.application import Application
from eventsourcing.domain import DomainEvent
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from psycopg.sql import SQL, Composed, Identifier

from cluetrail.consume import decode_record
from cluetrail.db import ensure_database, migrate
from cluetrail.settings import CommonSettings
from contracts.chain import Step
from services.reporting.adapters import SQL as REPORTING_SQL
from services.reporting.adapters.projector import LEDGER_COLUMNS, _ledger_columns, state_from_row
from services.reporting.adapters.versions import ensure_active_projection, use_active_projection, use_schema
from services.reporting.domain.ledger import chain_step, fold

PEER = f"eventsourcing {version('eventsourcing')}"
# Events are written to the peer's event store in inserts of this many (the write side is not timed).
INSERT_CHUNK = 1_000


class CaseLog(Application[uuid.UUID]):
    """The case log as an eventsourcing application: its PostgreSQL recorder stores the case events."""


@dataclass(frozen=True)
class CaseEventRecorded(DomainEvent):
    """A case event as written on the case topic (its UTF-8 JSON), stored for its case (the originator)
    at its seq (the originator version)."""

    text: str


class LedgerView(PostgresTrackingRecorder):
    """The ledger table of a reporting projection schema, kept by the peer with its tracking rows."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        table = Identifier(datastore.schema, "ledger")
        # Lists are jsonb in the table and JSON text to state_from_row, as asyncpg hands them over.
        with datastore.get_connection() as conn:
            found = conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = 'ledger' AND data_type = 'jsonb'",
                (datastore.schema,),
            ).fetchall()
        jsonb = {row["column_name"] for row in found}
        read: list[Composed] = [
            SQL("{0}::text AS {0}" if name in jsonb else "{0}").format(Identifier(name))
            for name in LEDGER_COLUMNS
        ]
        self.select_row = SQL("SELECT {} FROM {} WHERE case_id = %s FOR UPDATE").format(
            SQL(", ").join(read), table
        )
        self.upsert_row = SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (case_id) DO UPDATE SET {}"
        ).format(
            table,
            SQL(", ").join(Identifier(name) for name in LEDGER_COLUMNS),
            SQL(", ").join(SQL("%s::jsonb" if name in jsonb else "%s") for name in LEDGER_COLUMNS),
            SQL(", ").join(SQL("{0} = EXCLUDED.{0}").format(Identifier(name)) for name in LEDGER_COLUMNS[1:]),
        )

    def apply(self, text: str, tracking: Tracking) -> None:
        """Fold one case event into its ledger row and record the tracking row, in one transaction."""
        value = text.encode()
        incoming = decode_record(
            ConsumerRecord("peer", 0, tracking.notification_id, 0, 0, None, value, None, 0, len(value), [])
        )
        event = incoming.event
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(self.select_row, (event.case_id,), prepare=True)
            row = curs.fetchone()
            state = None if row is None else state_from_row(row)
            if chain_step(state, event) is Step.APPLY:
                # The row encoded as the projector encodes it for its statements.
                values = [column[0] for column in _ledger_columns([fold(state, event)])]
                curs.execute(self.upsert_row, values, prepare=True)
            self._insert_tracking(curs, tracking)


class LedgerProjection(Projection[LedgerView]):
    """Each recorded case event into the ledger."""

    name = "peerledger"

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        if isinstance(domain_event, CaseEventRecorded):
            self.view.apply(domain_event.text, tracking)
        else:
            self.view.insert_tracking(tracking)


def peer_environment(dsn: str, schema: str) -> dict[str, str]:
    """eventsourcing's settings for the database ``dsn``, its tables in ``schema``."""
    url = urlsplit(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_SCHEMA": schema,
    }


async def prepare_peer_database(settings: CommonSettings) -> tuple[str, str]:
    """A database of its own with a reporting projection schema (the ledger the peer fills): dsn, schema."""
    dsn = settings.database_for("benchpeer")
    await ensure_database(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, REPORTING_SQL.migrations)
        await ensure_active_projection(conn)
        async with conn.transaction():
            schema = await use_active_projection(conn)
    finally:
        await conn.close()
    return dsn, schema


def record_events(env: dict[str, str], records: list[tuple[bytes, bytes]]) -> int:
    """Store ``records`` in the peer's event store (its write side, not timed); the last notification id."""
    app = CaseLog(env)
    try:
        now = datetime.now(UTC)
        stored = [
            app.mapper.to_stored_event(
                CaseEventRecorded(
                    originator_id=uuid.UUID(key.decode()),
                    originator_version=json.loads(value)["seq"],
                    timestamp=now,
                    text=value.decode(),
                )
            )
            for key, value in records
        ]
        last = 0
        for start in range(0, len(stored), INSERT_CHUNK):
            ids = app.recorder.insert_events(stored[start : start + INSERT_CHUNK])
            last = max(ids or [last])
        return last
    finally:
        app.close()


def project(env: dict[str, str], last_notification: int) -> float:
    """Seconds from starting eventsourcing's projection runner until its view tracks ``last_notification``."""
    started = time.perf_counter()
    with ProjectionRunner(
        application_class=CaseLog, projection_class=LedgerProjection, view_class=LedgerView, env=env
    ) as runner:
        while (runner.view.max_tracking_id(runner.app_name) or 0) < last_notification:
            # Raises the projection's error, if it failed, instead of waiting for ever.
            runner.run_forever(timeout=0.05)
        return time.perf_counter() - started


async def same_ledgers(peer_dsn: str, peer_schema: str, reporting_dsn: str) -> int:
    """The peer's ledger and the rebuilt live one, row for row: the number of rows; raises when they
    differ."""
    tables = []
    for dsn, schema in ((peer_dsn, peer_schema), (reporting_dsn, None)):
        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                if schema is None:
                    await use_active_projection(conn)
                else:
                    await use_schema(conn, schema)
                tables.append(
                    [tuple(row) for row in await conn.fetch("SELECT * FROM ledger ORDER BY case_id")]
                )
        finally:
            await conn.close()
    if tables[0] != tables[1]:
        differing = sum(a != b for a, b in zip(*tables, strict=False)) + abs(len(tables[0]) - len(tables[1]))
        raise RuntimeError(f"the peer's ledger differs from cluetrail's in {differing:,} rows")
    return len(tables[0])


async def peer_rate(settings: CommonSettings, records: list[tuple[bytes, bytes]]) -> tuple[float, int]:
    """Events per second of the peer's projection of ``records`` from its event store into a ledger, and
    the rows of that ledger (checked equal to the one cluetrail's rebuild made of the same events)."""
    dsn, schema = await prepare_peer_database(settings)
    env = peer_environment(dsn, schema)
    last = await asyncio.to_thread(record_events, env, records)
    seconds = await asyncio.to_thread(project, env, last)
    rows = await same_ledgers(dsn, schema, settings.database_for("reporting"))
    return len(records) / seconds, rows
