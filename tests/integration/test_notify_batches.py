"""notify's case-event consumer decides a batch in a handful of round trips (``DecidingDeliveries
.apply_batch``) with the outcome of deciding its records one by one: the same facts of each case, routed
events and deliveries (recipients, channels, bodies, acknowledgements asked), whatever the batches' sizes,
on the golden cases with the demo recipients and a copy of an event delivered again. A record off its
case's chain rejects the batch it is in, for the consumer to apply that batch record by record.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from cluetrail.consume import Incoming, Rejected
from contracts.jurisdictions import default_registry
from services.notify.adapters import SQL
from services.notify.adapters.notifier import Notifier
from services.notify.domain.notice import DEFAULT
from services.notify.domain.recipients import RecipientBook
from services.notify.entrypoints.consumers import DecidingDeliveries
from tests.harness import Stack
from tests.integration.databases import empty_databases
from tests.integration.golden_reporting import golden_cases, incoming, log_order

pytestmark = pytest.mark.integration
# An acknowledgement link's token carries the second it was made: two deciders a second apart differ there.
TOKEN = re.compile(r"token=[^\"&\s]+")


@pytest.fixture
async def pools() -> AsyncIterator[list[asyncpg.Pool]]:
    """Two empty notify databases."""
    async with empty_databases(SQL.migrations, "notify", "notify_batched") as opened:
        yield opened


@pytest.fixture
def deciding(stack: Stack) -> DecidingDeliveries:
    book = RecipientBook.load(Path(stack.env["CLUETRAIL_NOTIFY_RECIPIENTS_FILE"]), default_registry())
    return DecidingDeliveries(Notifier(book, default_registry(), DEFAULT, "http://notify.example"))


def the_log() -> list[Incoming]:
    """The golden cases in log order, with the first case's third event delivered again near the end."""
    events = log_order(golden_cases())
    return incoming([*events[:-2], events[2], *events[-2:]])


async def one_by_one(pool: asyncpg.Pool, deciding: DecidingDeliveries, events: Sequence[Incoming]) -> None:
    async with pool.acquire() as conn:
        for event in events:
            async with conn.transaction():
                await deciding.apply(conn, event)


async def in_batches(
    pool: asyncpg.Pool, deciding: DecidingDeliveries, events: Sequence[Incoming], size: int
) -> None:
    async with pool.acquire() as conn:
        for start in range(0, len(events), size):
            async with conn.transaction():
                await deciding.apply_batch(conn, events[start : start + size])


async def contents(pool: asyncpg.Pool) -> dict[str, Any]:
    async with pool.acquire() as conn:
        deliveries = await conn.fetch(
            "SELECT delivery_id, event_id, recipient_id, case_id, seq, event_type, jurisdiction, body, "
            "channel, status, needs_ack, origin, rendered, last_error FROM deliveries ORDER BY delivery_id"
        )
        cases = await conn.fetch("SELECT * FROM cases ORDER BY case_id")
        routed = await conn.fetch("SELECT event_id, document, facts FROM routed_events ORDER BY event_id")
    return {
        # When each row was last written is the only thing the two ways may differ in.
        "cases": [{k: v for k, v in r.items() if k != "updated_at"} for r in cases],
        "routed": [dict(r) for r in routed],
        "deliveries": [{**dict(r), "body": TOKEN.sub("token=…", r["body"])} for r in deliveries],
    }


@pytest.mark.parametrize("size", [1, 3, 100])
async def test_batches_of_any_size_decide_what_records_one_by_one_decide(
    pools: list[asyncpg.Pool], deciding: DecidingDeliveries, size: int
) -> None:
    events = the_log()
    await one_by_one(pools[0], deciding, events)
    await in_batches(pools[1], deciding, events, size)
    alone, batched = await contents(pools[0]), await contents(pools[1])
    assert batched == alone
    assert len(alone["cases"]) == len(golden_cases())
    assert alone["deliveries"] and alone["routed"]
    assert any(d["needs_ack"] for d in alone["deliveries"])


async def test_a_record_off_its_chain_rejects_its_batch(
    pools: list[asyncpg.Pool], deciding: DecidingDeliveries
) -> None:
    cases = golden_cases()
    await in_batches(pools[0], deciding, incoming(cases["A"].events[:1]), 10)
    before = await contents(pools[0])
    gap = incoming([cases["B"].events[0], cases["A"].events[2]])  # A's second event never came
    async with pools[0].acquire() as conn:
        with pytest.raises(Rejected, match=str(cases["A"].case_id)):
            async with conn.transaction():
                await deciding.apply_batch(conn, gap)
    assert await contents(pools[0]) == before
