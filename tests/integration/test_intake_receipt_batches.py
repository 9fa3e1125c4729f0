"""Intake's receipt projection folds a batch of the case log in three round trips
(``apply_batch_to_receipts``) with the outcome of folding its records one by one: the same receipts, stages,
hashes and steps a reporter is shown, whatever the batches' sizes, on the golden cases (closed, written off
and reopened, rewarded, handed to the police) and with a copy of an event delivered again. A record off its
case's chain rejects the batch it is in, for the consumer to apply that batch record by record.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import pytest

from cluetrail.consume import Incoming, Rejected
from services.intake.adapters import SQL
from services.intake.entrypoints.consumers import apply_batch_to_receipts, apply_to_receipts
from tests.integration.databases import empty_databases
from tests.integration.golden_reporting import golden_cases, incoming, log_order

pytestmark = pytest.mark.integration


@pytest.fixture
async def databases() -> AsyncIterator[list[asyncpg.Pool]]:
    """Two empty intake databases."""
    async with empty_databases(SQL.migrations, "intake", "intake_batched") as pools:
        yield pools


def the_log() -> list[Incoming]:
    """The golden cases in log order, with the first case's third event delivered again near the end."""
    events = log_order(golden_cases())
    return incoming([*events[:-2], events[2], *events[-2:]])


async def one_by_one(pool: asyncpg.Pool, events: Sequence[Incoming]) -> None:
    async with pool.acquire() as conn:
        for event in events:
            async with conn.transaction():
                await apply_to_receipts(conn, event)


async def in_batches(pool: asyncpg.Pool, events: Sequence[Incoming], size: int) -> None:
    async with pool.acquire() as conn:
        for start in range(0, len(events), size):
            async with conn.transaction():
                await apply_batch_to_receipts(conn, events[start : start + size])


async def contents(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        return {
            "receipts": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT receipt_digest, case_id, stage, last_seq, last_hash, reward_granted, updated_at, "
                    "merged_into, hashes FROM receipts ORDER BY case_id"
                )
            ],
            "steps": [
                dict(r)
                for r in await conn.fetch(
                    "SELECT case_id, seq, stage, label, on_day, at FROM receipt_steps ORDER BY case_id, seq"
                )
            ],
        }


@pytest.mark.parametrize("size", [1, 3, 100])
async def test_batches_of_any_size_leave_the_receipts_as_records_applied_one_by_one(
    databases: list[asyncpg.Pool], size: int
) -> None:
    events = the_log()
    await one_by_one(databases[0], events)
    await in_batches(databases[1], events, size)
    alone, batched = await contents(databases[0]), await contents(databases[1])
    assert batched == alone
    assert len(alone["receipts"]) == len(golden_cases())
    assert {r["stage"] for r in alone["receipts"]} >= {"received", "closed", "in_handling"}
    assert any(r["reward_granted"] for r in alone["receipts"])


async def test_a_record_off_its_chain_rejects_its_batch(databases: list[asyncpg.Pool]) -> None:
    cases = golden_cases()
    opened = incoming(cases["A"].events[:1])
    await in_batches(databases[0], opened, 10)
    before = await contents(databases[0])
    gap = incoming([cases["B"].events[0], cases["A"].events[2]])  # A's second event never came
    async with databases[0].acquire() as conn:
        with pytest.raises(Rejected, match=str(cases["A"].case_id)):
            async with conn.transaction():
                await apply_batch_to_receipts(conn, gap)
    assert await contents(databases[0]) == before
