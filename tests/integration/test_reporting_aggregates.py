"""The work and disposal tables summed by PostgreSQL over the projector's month rows are the tables the
per-case replay computes (tables.work_statistics / disposal_statistics over every case), for random case
histories — events late for their month, cases moving between places, reopened, returned by the police —
under every scope and filter; and the month rows do not depend on how the events were batched."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import asyncpg
import pytest

from contracts.events import (
    HandoffAccepted,
    HandoffAcceptedPayload,
    KeyCaseFlagged,
    KeyCaseFlaggedPayload,
    PoliceReturned,
    PoliceReturnedPayload,
)
from services.reporting.adapters import reads
from services.reporting.adapters.projector import apply_events
from services.reporting.adapters.reports import build_table
from services.reporting.adapters.versions import use_active_projection
from services.reporting.domain import tables as T
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import ReportQuery, Scope, subtree
from tests.integration.golden_reporting import (
    DADIAN,
    DISTRICT,
    HUADU,
    REGISTRY,
    SHICHENG,
    STREET,
    XINZHAN,
    CaseBuilder,
    drop_database,
    fresh_database,
    incoming,
    project,
)

pytestmark = pytest.mark.integration
# Places in and out of 龙岗街道 (a grid of 华都社区, 双桥镇 of another district, 萌水镇 of another province).
GRID = next(c.code for c in REGISTRY.all() if c.level == "grid" and REGISTRY.is_within(c.code, HUADU))
ELSEWHERE = ["340422L01", "3703WCL01"]
PLACES = [HUADU, SHICHENG, DADIAN, XINZHAN, GRID, *ELSEWHERE]
SECTORS = ["elderly_care", "virtual_currency", "agriculture", None]
PERIODS = [Period(2026, m) for m in range(7, 13)]
NOW = datetime(2026, 12, 20, tzinfo=CST)


def day(rng: random.Random) -> str:
    return f"{rng.randint(8, 12):02d}-{rng.randint(1, 28):02d}"


def random_case(rng: random.Random) -> CaseBuilder:
    """A case whose events occur on random days (not in seq order): late facts for earlier months."""
    case = CaseBuilder(rng.choice(PLACES))
    regions = rng.choice([[], [], ["3704GX"]])
    source = rng.choice(["grid_patrol", "hotline_12345", "big_data", "referral"])
    amount, people = rng.choice([None, 50_000, 2_000_000]), rng.choice([None, 5, 40])
    case.clue(day(rng), source, "随机（演示）", rng.choice(SECTORS), amount, people, regions)
    for _ in range(rng.randint(0, 7)):
        step = rng.randrange(11)
        when = day(rng)
        if step == 0:
            case.assessed(when, rng.choice(["major", "serious", "general", "low"]))
        elif step == 1:
            case.determined(when, rng.choice(["suspected_crime", "general_violation", "no_violation"]),
                            rng.choice([[], ["warning_interview"]]))  # fmt: skip
        elif step == 2:
            case.escalated(when, "police", DISTRICT)
        elif step == 3:
            case.police_accepted(when, "瑶公刑立〔2026〕099号", DISTRICT)
        elif step == 4:
            case.add(
                PoliceReturned, PoliceReturnedPayload(reason="证据不足。", police_jurisdiction=DISTRICT), when
            )
        elif step == 5:
            case.closed(when, "no_violation", rng.choice([0, 1_000]))
        elif step == 6:
            case.reopened(when)
        elif step == 7:
            target = rng.choice(PLACES)
            case.add(HandoffAccepted, HandoffAcceptedPayload(from_jurisdiction=case.jurisdiction,
                                                             to_jurisdiction=target), when)  # fmt: skip
            case.jurisdiction = target
        elif step == 8:
            case.measure(when, "seizure")
        elif step == 9:
            filed = date(rng.randint(2020, 2025), rng.randint(1, 12), rng.randint(1, 28))
            payload = KeyCaseFlaggedPayload(reasons=["长期未结"], supervising_leader="区政府分管副区长",
                                            criminal_filed_on=filed)  # fmt: skip
            case.add(KeyCaseFlagged, payload, when)
        else:
            case.reward(when, 500)
    return case


def interleaved(cases: list[CaseBuilder], rng: random.Random) -> list[Any]:
    """Every case's events in seq order, the cases interleaved at random (as partitions deliver them)."""
    queues = [list(c.events) for c in cases]
    out = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        out.append(queue.pop(0))
    return out


@pytest.fixture(scope="module")
async def random_ledger() -> AsyncIterator[tuple[asyncpg.Connection, asyncpg.Connection]]:
    """The same random events projected twice: one at a time, and in batches of 7 (as a rebuild does)."""
    rng = random.Random(20261122)
    cases = [random_case(rng) for _ in range(120)]
    events = incoming(interleaved(cases, rng))
    one, batched = await fresh_database(), await fresh_database()
    a, b = await asyncpg.connect(one), await asyncpg.connect(batched)
    try:
        await project(a, events)
        for start in range(0, len(events), 7):
            async with b.transaction():
                await use_active_projection(b)
                result = await apply_events(b, events[start : start + 7])
                assert not result.rejected, result.rejected
        yield a, b
    finally:
        await a.close()
        await b.close()
        await drop_database(one)
        await drop_database(batched)


async def month_rows(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    async with reads.snapshot(conn):
        return [dict(r) for r in await conn.fetch("SELECT * FROM case_months ORDER BY case_id, period")]


async def test_month_rows_do_not_depend_on_batching(random_ledger: Any) -> None:
    one, batched = random_ledger
    rows = await month_rows(one)
    assert len(rows) > 120 and rows == await month_rows(batched)


async def replayed(conn: asyncpg.Connection, query: ReportQuery, scope: Scope) -> T.Table:
    """The table replayed from every case the scope and filters select (the reference computation)."""
    cases, _ = await reads.table_cases(
        conn, subtree(REGISTRY, scope.root), police_only=scope.police_only, sector=query.sector,
        grade=query.grade, status=query.status,
    )  # fmt: skip
    tables = {
        "work": T.work_statistics, "disposal": T.disposal_statistics,
        "cross_province": T.cross_province_register, "no_fundraising": T.no_fundraising_communities,
    }  # fmt: skip
    if query.table == "ageing":
        return T.ageing(cases, REGISTRY, scope.root, min(query.period.end, NOW))
    return tables[query.table](cases, REGISTRY, scope.root, query.period)


FILTERS: list[dict[str, Any]] = [{}, {"grade": "general"}, {"sector": "elderly_care"}, {"status": "closed"}]


@pytest.mark.parametrize("name", ["work", "disposal", "cross_province", "no_fundraising", "ageing"])
async def test_tables_equal_the_replay_of_every_case(random_ledger: Any, name: str) -> None:
    conn, _ = random_ledger
    compared = 0
    for period in PERIODS:
        for root, police in [(STREET, False), (DISTRICT, False), ("340100", True), (HUADU, False),
                             (ELSEWHERE[0], False)]:  # fmt: skip
            for filters in FILTERS:
                query, scope = ReportQuery(name, period, **filters), Scope(root, police)
                served = await build_table(conn, REGISTRY, query, scope, now=NOW)
                reference = await replayed(conn, query, scope)
                assert served.rows == reference.rows, (name, str(period), root, police, filters)
                compared += any(
                    isinstance(v, int) and v and k != "no" for r in reference.rows for k, v in r.items()
                )
    assert compared > 20  # the comparisons were not all of empty tables
