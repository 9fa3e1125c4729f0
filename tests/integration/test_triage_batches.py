"""Triage's consumer applies a batch of the case log in a handful of round trips (``CaseBatch``) with the
outcome of applying its records one by one (``CaseTables``): the same cases, chains, subjects on file,
decisions queued and heads noted, whatever the batches' sizes — clues about one subject linked and merged
the same way, a clue reported earlier but applied later taking its subject's key, copies skipped. A batch
whose subject keys another transaction filed meanwhile fails as a whole, and a batch holding a record off
its case's chain is applied again record by record, that record alone dead-lettered."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import pytest
from faststream.kafka import KafkaBroker
from opentelemetry import trace

from cluetrail.consume import ExactlyOnceConsumer, Incoming, decode_record
from cluetrail.db import open_pool
from cluetrail.deadletter import DeadLetters
from cluetrail.settings import CommonSettings
from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import ClueReported, ClueReportedPayload, Subject, event_bytes, read_event, seal_event
from contracts.jurisdictions import default_registry
from contracts.vocabulary import ClueSource, SubjectKind
from services.triage.adapters import SQL, case_store, subjects
from services.triage.adapters.case_store import CaseBatch, CaseTables, SubjectsMoved
from services.triage.adapters.rules import rule_set_for
from services.triage.domain.workflow import WorkflowPolicy
from services.triage.entrypoints.consumers import CaseFolder
from services.triage.settings import TriageSettings
from tests.cases import dead_letters_for
from tests.integration.databases import empty_databases
from tests.records import consumer_record, event_record

pytestmark = pytest.mark.integration

HUADU = "340102L01001"  # 华都社区, 龙岗街道, 瑶海区
DADIAN = "340102L01003"  # 大店社区, same district
CREDIT_CODE = "91340102MA2TEQ001R"
TOPIC = "batches.case-events"


def clue(
    name: str, *, credit_code: str | None = None, address: str | None = None, at: str = HUADU
) -> Envelope:
    """A grid worker's clue about ``name``, sealed now (so a clue sealed later was reported later)."""
    return seal_event(
        ClueReported,
        case_id=uuid7(),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=at,
        actor=Actor(kind="officer", id="grid-worker-7", role="grid_worker"),
        payload=ClueReportedPayload(
            source=ClueSource.GRID_PATROL,
            subject=Subject(kind=SubjectKind.COMPANY, name=name, credit_code=credit_code, address=address),
            description="以养老项目为名向老年人吸收资金，承诺年化回报12%。",
            sector="elderly_care",
            participants=40,
            estimated_amount_yuan=800_000,
            receipt_digest="b" * 64,
        ),
        correlation_id=uuid7(),
    )


def incoming(event: Envelope | bytes, offset: int) -> Incoming:
    """The event as triage's consumer reads it from the log (decoded and its hash checked)."""
    value = event if isinstance(event, bytes) else event_bytes(event)
    case_id = read_event(value).case_id if isinstance(event, bytes) else event.case_id
    return decode_record(consumer_record(value, topic=TOPIC, offset=offset, key=str(case_id).encode()))


def the_log() -> list[Envelope]:
    """Clues in the order the log holds them: two about one company (by its credit code), one about a
    branch of it known only by name and address, a clue reported before another about the same shop but
    applied after it, a clue delivered twice, and clues about subjects of their own."""
    first = clue("华都康养服务有限公司", credit_code=CREDIT_CODE, address="华都路18号")
    again = clue("华都康养（龙岗店）", credit_code=CREDIT_CODE, address="龙岗路6号")
    branch = clue("华都康养（龙岗店）", address="龙岗路6号")  # linked through the merged clue's key
    earlier = clue("大店生活超市", address="大店路3号", at=DADIAN)
    later = clue("大店生活超市", address="大店路3号", at=DADIAN)
    alone = [clue(f"龙岗理财咨询{n}号店", address=f"龙岗路{n}号") for n in range(20, 24)]
    return [first, alone[0], again, alone[1], first, later, branch, earlier, alone[2], alone[3]]


@pytest.fixture
async def databases() -> AsyncIterator[list[asyncpg.Pool]]:
    """Two empty triage databases."""
    async with empty_databases(SQL.migrations, "triage", "triage_batched") as pools:
        yield pools


@pytest.fixture(scope="module")
def folder() -> CaseFolder:
    rules = rule_set_for(TriageSettings())
    return CaseFolder(rules, default_registry(), WorkflowPolicy(), trace.get_tracer("test"))


async def one_by_one(pool: asyncpg.Pool, folder: CaseFolder, events: Sequence[Incoming]) -> None:
    async with pool.acquire() as conn:
        for event in events:
            async with conn.transaction():
                await folder.apply(CaseTables(conn), event, deciding=True)


async def in_batches(pool: asyncpg.Pool, folder: CaseFolder, events: Sequence[Incoming], size: int) -> None:
    async with pool.acquire() as conn:
        for start in range(0, len(events), size):
            async with conn.transaction():
                await folder.apply_batch(conn, events[start : start + size], deciding=True)


async def decided(pool: asyncpg.Pool, offset: int) -> list[Incoming]:
    """What the database queued, as the log gives it back to triage."""
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT event FROM outbox ORDER BY id")
    return [incoming(bytes(r["event"]), offset + n) for n, r in enumerate(rows)]


async def contents(pool: asyncpg.Pool) -> dict[str, Any]:
    """The tables as the two paths must leave them (event ids and hashes of triage's own decisions, sealed
    anew by each, aside)."""
    async with pool.acquire() as conn:
        cases = await conn.fetch(
            "SELECT case_id, status, grade, score, key_case, determination, last_seq, "
            "state->>'merged_into' AS merged_into, state->'clue' AS clue FROM cases ORDER BY case_id"
        )
        events = await conn.fetch("SELECT case_id, seq, type FROM case_events ORDER BY case_id, seq")
        filed = await conn.fetch("SELECT key, case_id, reported_at FROM subjects ORDER BY key")
        queued = await conn.fetch(
            "SELECT case_id, seq, convert_from(event, 'UTF8')::jsonb->>'type' AS type FROM outbox ORDER BY id"
        )
        heads = await conn.fetch("SELECT case_id, seq FROM anchor_heads ORDER BY case_id")
    return {
        name: [dict(r) for r in rows]
        for name, rows in (
            ("cases", cases),
            ("events", events),
            ("subjects", filed),
            ("outbox", queued),
            ("heads", heads),
        )
    }


@pytest.mark.parametrize("size", [1, 3, 100])
async def test_batches_of_any_size_leave_the_tables_as_records_applied_one_by_one(
    databases: list[asyncpg.Pool], folder: CaseFolder, size: int
) -> None:
    alone, batched = databases
    events = the_log()
    log = [incoming(event, offset) for offset, event in enumerate(events)]
    await one_by_one(alone, folder, log)
    await in_batches(batched, folder, log, size)
    # Each database reads its own decisions back from the log: copies of what it holds.
    await one_by_one(alone, folder, await decided(alone, len(log)))
    await in_batches(batched, folder, await decided(batched, len(log)), size)
    # A late copy of the first clue: nothing moves, its case's head stays where the log has gone on to.
    late = [incoming(events[0], 1000)]
    await one_by_one(alone, folder, late)
    await in_batches(batched, folder, late, size)

    expected = await contents(alone)
    assert await contents(batched) == expected
    first, again, branch = events[0], events[2], events[6]
    merged = {c["case_id"]: c["merged_into"] for c in expected["cases"] if c["status"] == "merged"}
    assert merged == {again.case_id: str(first.case_id), branch.case_id: str(first.case_id)}
    assert {h["case_id"]: h["seq"] for h in expected["heads"]}[first.case_id] > 1
    shop = [s["case_id"] for s in expected["subjects"] if "大店生活超市" in s["key"]]
    assert shop == [events[7].case_id], "the key is with the clue reported first, though applied last"


async def test_a_key_filed_by_another_transaction_meanwhile_fails_the_batch(
    databases: list[asyncpg.Pool], folder: CaseFolder
) -> None:
    pool, _ = databases
    shop = clue("大店生活超市", address="大店路3号", at=DADIAN)
    rival = uuid.uuid4()
    key = folder.reads([incoming(shop, 0)])[1][0]
    async with pool.acquire() as conn, pool.acquire() as other:
        tx = conn.transaction()
        await tx.start()
        try:
            batch = await CaseBatch.open(conn, [shop.case_id], [key], with_holders=True)
            await folder.apply(batch, incoming(shop, 0), deciding=True)
            await subjects.put_on_file(other, [key], rival, None)  # committed while the batch is open
            with pytest.raises(SubjectsMoved):
                await batch.write()
        finally:
            await tx.rollback()


async def test_the_batch_read_finds_its_cases_by_their_key_however_many_are_on_file(
    databases: list[asyncpg.Pool],
) -> None:
    """The read locks a batch's cases and those holding its clues' keys by probing the primary key, never by
    reading the cases table through: a batch would cost more with every case on file. With sequential scans
    priced out, a plan that could only read the table through (an OR of the two sets did) still does."""
    pool, _ = databases
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        for holders in (True, False):
            explained = await conn.fetchval(
                f"EXPLAIN (FORMAT JSON) {case_store.Q['read']}", [uuid.uuid4()], ["a-key"], holders
            )
            plans = [json.loads(explained)[0]["Plan"]]
            nodes = []
            while plans:
                node = plans.pop()
                nodes.append(node)
                plans.extend(node.get("Plans", []))
            on_cases = [n for n in nodes if n.get("Relation Name") == "cases"]
            assert on_cases
            for node in on_cases:  # an index scan, or a bitmap heap scan over one
                found_by = node.get("Index Cond") or node.get("Recheck Cond") or ""
                assert "case_id = ANY" in found_by and "SubPlan" not in node.get("Filter", ""), node


def test_a_record_off_its_chain_is_dead_lettered_alone_and_the_rest_of_its_batch_applied(
    stack_settings: CommonSettings, folder: CaseFolder
) -> None:
    name = f"triage-batches-{uuid.uuid4().hex[:8]}"
    first, second = (
        clue("龙岗理财咨询30号店", address="龙岗路30号"),
        clue("龙岗理财咨询31号店", address="龙岗路31号"),
    )
    # Another writer's event at the seq triage will decide (a fork), then the next clue.
    fork = seal_event(
        ClueReported,
        case_id=first.case_id,
        seq=2,
        prev_hash=first.hash,
        jurisdiction=HUADU,
        actor=Actor(kind="officer", id="other-writer", role="street_officer"),
        payload=second.payload,  # type: ignore[attr-defined]
        correlation_id=first.correlation_id,
    )
    records = [event_record(e, topic=TOPIC, offset=n) for n, e in enumerate([first, fork, second])]

    async def run() -> dict[str, Any]:
        pool = await open_pool(stack_settings.database_for(name.replace("-", "_")), SQL.migrations)
        broker = KafkaBroker(stack_settings.kafka_bootstrap)
        await broker.start()
        try:
            consumer = ExactlyOnceConsumer(
                name=name,
                topic=TOPIC,
                pool=pool,
                dead_letters=DeadLetters(broker, stack_settings, name),
                apply=lambda conn, event: folder.apply(CaseTables(conn), event, deciding=True),
                apply_batch=lambda conn, events: folder.apply_batch(conn, events, deciding=True),
                tracer=trace.get_tracer("test"),
            )
            applied = await consumer.process(records)
            letters = await dead_letters_for(stack_settings, str(first.case_id), name)
            return {
                "applied": [e.event.event_id for e in applied],
                "letters": letters,
                **await contents(pool),
            }
        finally:
            await broker.stop()
            await pool.close()

    found = asyncio.run(run())
    assert found["applied"] == [first.event_id, second.event_id]
    assert [letter["offset"] for letter in found["letters"]] == [1]
    assert "seq 2 was already recorded with a different hash" in found["letters"][0]["reason"]
    assert {(c["case_id"], c["grade"] is not None) for c in found["cases"]} == {
        (first.case_id, True),
        (second.case_id, True),
    }
