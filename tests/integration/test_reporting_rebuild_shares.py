"""A build's first pass folded by shares of the case log's partitions (``adapters/shares.py``) writes the
rows one process writes, and a build whose shares meet a case in common starts over in one process."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from rich.progress import Progress

from cluetrail.kafka import ensure_topics, log_end
from contracts.events import event_bytes
from services.reporting.adapters import SQL
from services.reporting.adapters.builder import ProjectionBuilder, RebuildSummary
from services.reporting.adapters.rebuild import rebuild
from services.reporting.adapters.shares import replay_in_shares, share_processes
from services.reporting.adapters.versions import asof_schema, create_projection, record_build, use_schema
from services.reporting.domain.periods import CST
from services.reporting.settings import ReportingSettings
from tests.integration.golden_reporting import drop_database, golden_cases, log_order
from tests.integration.ledger import schemas_differ

pytestmark = pytest.mark.integration
AFTER_ALL = datetime(2026, 12, 1, tzinfo=CST)  # every golden event was recorded before


@pytest.fixture
async def golden_log() -> AsyncIterator[ReportingSettings]:
    """The golden cases on a case topic of their own (each case keyed by its id, so in one of its six
    partitions), and a reporting database of their own."""
    tag = uuid.uuid4().hex[:8]
    settings = ReportingSettings(topic_prefix=f"shares-{tag}", database_prefix=f"shares_{tag}")
    await ensure_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for event in log_order(golden_cases()):
            await producer.send_and_wait(
                settings.case_topic, event_bytes(event), key=str(event.case_id).encode()
            )
    finally:
        await producer.stop()
    try:
        yield settings
    finally:
        await drop_database(settings.database_for("reporting"))
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        await admin.start()
        try:
            mine = [t for t in await admin.list_topics() if t.startswith(f"{settings.topic_prefix}.")]
            await admin.delete_topics(mine)
        finally:
            await admin.close()


async def test_shares_of_the_partitions_build_the_rows_one_process_builds(
    golden_log: ReportingSettings,
) -> None:
    end = await log_end(golden_log)
    assert sum(1 for offset in end.offsets.values() if offset > 0) >= 2, "the cases sit in several partitions"
    with Progress(disable=True) as progress:
        alone = await rebuild(golden_log.model_copy(update={"replay_shares": 1}), progress)
        shared = await rebuild(golden_log.model_copy(update={"replay_shares": 2}), progress)
    assert (alone.shares, shared.shares) == (1, 2)
    assert (shared.applied, shared.rejected, shared.duplicates, shared.cases) == (
        alone.applied,
        alone.rejected,
        alone.duplicates,
        alone.cases,
    )
    assert alone.applied == len(log_order(golden_cases()))
    assert await schemas_differ(golden_log, alone.schema, shared.schema) == 0


async def test_shares_that_meet_a_case_in_common_leave_the_build_to_one_process(
    golden_log: ReportingSettings,
) -> None:
    settings = golden_log.model_copy(update={"replay_shares": 2})
    with Progress(disable=True) as progress:
        alone = await rebuild(golden_log.model_copy(update={"replay_shares": 1}), progress)
    conn = await asyncpg.connect(settings.database_for("reporting"))
    try:
        schema = asof_schema(AFTER_ALL)
        await create_projection(conn, schema, as_of=AFTER_ALL)
        # The first event of a case already there: the share that adds the case runs into it on the primary
        # key, as it would into another share that added the case first.
        async with conn.transaction():
            await use_schema(conn, schema)
            copied = await conn.execute(
                f'INSERT INTO history SELECT * FROM "{alone.schema}".history WHERE seq = 1 LIMIT 1'
            )
            assert copied == "INSERT 0 1"
        builder = ProjectionBuilder(conn, settings, RebuildSummary(schema, None), AFTER_ALL)
        async with share_processes(settings) as shares:
            assert await replay_in_shares(builder, conn, settings, AFTER_ALL, None, "shares", shares) == 0
        assert builder.positions == {} and builder.summary.shares == 1 and builder.summary.applied == 0
        async with conn.transaction():
            await use_schema(conn, schema)
            assert await conn.fetchval("SELECT count(*) FROM history") == 0  # the shares' rows are gone
        await builder.replay()
        await record_build(conn, schema, builder.summary.applied, await builder.count_cases())
        assert builder.summary.applied == alone.applied
        assert await schemas_differ(settings, alone.schema, schema) == 0
    finally:
        await conn.close()


async def test_a_build_ends_with_every_index_of_the_template(golden_log: ReportingSettings) -> None:
    """A build loads its tables before it indexes them; the version it makes live has every index."""
    with Progress(disable=True) as progress:
        built = await rebuild(golden_log, progress)
    wanted = set(re.findall(r"CREATE INDEX (\w+)", SQL.template("projection_indexes")))
    assert {"ledger_jurisdiction", "history_occurred"} <= wanted
    conn = await asyncpg.connect(golden_log.database_for("reporting"))
    try:
        found = {r["indexname"] for r in await conn.fetch(INDEXES, built.schema)}
    finally:
        await conn.close()
    assert wanted <= found


INDEXES = "SELECT indexname FROM pg_indexes WHERE schemaname = $1"
