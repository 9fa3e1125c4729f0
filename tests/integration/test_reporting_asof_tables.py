"""As-of tables on the golden event set: a projection built as of an instant serves every table as the
live projection served it at that instant — the ageing lists and deadlines with that instant as "now",
and a month submitted by then as it was frozen — however the log and the submissions moved on since.

The live projection is followed through time: the golden events are applied in the order they were
recorded, the street submits September on 3 October and October on 7 November (two days late), and at
three instants every table is read as served. One late fact (B to the police on 29 October, recorded
on 20 November) arrives afterwards. Then an as-of projection of each instant is built from the whole
log by the rebuild's own code, and must serve the same tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from contracts.envelope import Actor
from contracts.events import CaseEscalated, EscalatedPayload
from contracts.reports import ReportSubmitted, content_hash
from services.reporting.adapters.rebuild import ProjectionBuilder, RebuildSummary
from services.reporting.adapters.reports import build_table, prepare_submission
from services.reporting.adapters.submissions import store_submission
from services.reporting.adapters.versions import asof_schema, create_projection, record_build
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import ReportQuery, Scope
from services.reporting.settings import ReportingSettings
from tests.integration.golden_reporting import (
    DISTRICT,
    REGISTRY,
    SHOU_COUNTY,
    STREET,
    by,
    drop_database,
    fresh_database,
    golden_cases,
    incoming,
    log_order,
    project,
    records,
)

pytestmark = pytest.mark.integration
SETTINGS = ReportingSettings(topic_prefix="golden")
SEP, OCT, NOV = Period(2026, 9), Period(2026, 10), Period(2026, 11)
OFFICER = Actor(kind="officer", id="longgang-office", role="street_officer")


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CST)


SUBMISSIONS = [(SEP, cst("2026-10-03T09:00")), (OCT, cst("2026-11-07T09:00"))]
INSTANTS = [cst("2026-10-15T12:00"), cst("2026-11-06T12:00"), cst("2026-11-08T12:00")]
# (table, period, root) read at every instant.
READS = [
    *((name, period, STREET) for name in ("work", "disposal", "cross_province", "no_fundraising", "deadlines")
      for period in (SEP, OCT, NOV)),
    ("ageing", SEP, SHOU_COUNTY), ("ageing", OCT, SHOU_COUNTY), ("ageing", NOV, SHOU_COUNTY),
    ("ledger", OCT, DISTRICT), ("risks", OCT, STREET), ("key_risks", OCT, STREET),
]  # fmt: skip


async def submit_at(conn: asyncpg.Connection, period: Period, when: datetime, offset: int) -> None:
    """The street submits ``period`` at ``when`` from the live projection, as the API does."""
    sealed = await prepare_submission(conn, REGISTRY, SETTINGS, OFFICER, STREET, period, when)
    document = {**sealed.model_dump(mode="json"), "submitted_at": when.isoformat()}
    document["content_sha256"] = content_hash(document)
    await store_submission(conn, ReportSubmitted.model_validate(document), 0, offset)


async def served(conn: asyncpg.Connection, now: datetime, as_of: str | None = None) -> dict[Any, Any]:
    out = {}
    for name, period, root in READS:
        table = await build_table(conn, REGISTRY, ReportQuery(name, period, as_of=as_of), Scope(root), now)
        out[(name, str(period), root)] = {
            "columns": table.as_json()["columns"], "rows": table.rows, "submitted": table.meta["submitted"]
        }  # fmt: skip
    return out


@pytest.fixture(scope="module")
async def history() -> AsyncIterator[tuple[asyncpg.Connection, dict[datetime, dict[Any, Any]], Any]]:
    """The golden log projected live through time, with the tables served at each instant."""
    cases = golden_cases()
    police = EscalatedPayload(target="police", target_jurisdiction=DISTRICT, reason="依规移送。")
    cases["B"].add(CaseEscalated, police, "10-29", recorded="11-20")
    events = log_order(cases)
    dsn = await fresh_database()
    conn = await asyncpg.connect(dsn)
    seen: dict[datetime, dict[Any, Any]] = {}
    try:
        applied = 0
        milestones = sorted(
            [*((when, period) for period, when in SUBMISSIONS), *((t, None) for t in INSTANTS)]
        )
        for when, period in milestones:
            due = [e for e in events[applied:] if e.recorded_at <= when]
            await project(conn, incoming(due))
            applied += len(due)
            if period is not None:
                await submit_at(conn, period, when, offset=len(seen))
            else:
                seen[when] = await served(conn, when)
        await project(conn, incoming(events[applied:]))
        for instant in INSTANTS:
            schema = asof_schema(instant)
            await create_projection(conn, schema, as_of=instant)
            builder = ProjectionBuilder(conn, SETTINGS, RebuildSummary(schema, None), instant)
            await builder.apply(records(events))
            await record_build(conn, schema, builder.summary.applied, await builder.count_cases())
        yield conn, seen, cases
    finally:
        await conn.close()
        await drop_database(dsn)


@pytest.mark.parametrize("instant", INSTANTS, ids=lambda t: t.strftime("%m-%d"))
async def test_an_as_of_projection_serves_every_table_as_the_live_one_did_then(
    history: Any, instant: datetime
) -> None:
    conn, seen, _ = history
    now = datetime(2026, 12, 1, tzinfo=CST)  # an as-of read ignores the reader's now
    as_of = await served(conn, now, as_of=asof_schema(instant))
    assert as_of.keys() == seen[instant].keys()
    for key, table in seen[instant].items():
        assert as_of[key] == table, key
    # The instant itself names the same projection.
    assert await served(conn, now, as_of=instant.isoformat()) == as_of


async def test_as_of_figures_worked_out_by_hand(history: Any) -> None:
    conn, _, cases = history
    now = datetime(2026, 12, 1, tzinfo=CST)

    async def read(name: str, period: Period, instant: datetime | None, root: str = STREET) -> Any:
        as_of = asof_schema(instant) if instant is not None else None
        return await build_table(conn, REGISTRY, ReportQuery(name, period, as_of=as_of), Scope(root), now)

    first, second, third = INSTANTS
    # 15 October: September was submitted on the 3rd (served frozen); October's deadline is ahead.
    assert (await read("work", SEP, first)).meta["submitted"] is True
    october = by((await read("deadlines", OCT, first)).rows, "jurisdiction")
    assert (october[STREET]["state"], october[STREET]["days_late"]) == ("待报送", 0)
    # The ageing lists as they stood on 15 October: M (filed 2024-10-20) had not yet turned two.
    ageing = await read("ageing", OCT, first, SHOU_COUNTY)
    assert ageing.meta["at"] == first.isoformat()
    assert [r["case_id"] for r in ageing.rows] == [str(cases[k].case_id) for k in ("K", "J")]
    assert [r["case_id"] for r in (await read("ageing", OCT, None, SHOU_COUNTY)).rows] == [
        str(cases[k].case_id) for k in ("K", "J", "M")
    ]
    # Clues of October recorded by the 15th: A, H, B, F; new cases: A (10-06) and C (determined 10-02).
    subtotal = (await read("no_fundraising", OCT, first)).rows[-1]
    assert (subtotal["new_clues"], subtotal["new_cases"], subtotal["participants"]) == (4, 2, 1620)
    # 6 November: October is a day overdue and not submitted; 8 November: sent on the 7th, two days late.
    assert by((await read("deadlines", OCT, second)).rows, "jurisdiction")[STREET]["days_late"] == 1
    assert (await read("work", OCT, second)).meta["submitted"] is False
    late = by((await read("deadlines", OCT, third)).rows, "jurisdiction")[STREET]
    assert (late["state"], late["days_late"], late["submitted_at"]) == (
        "逾期报送",
        2,
        SUBMISSIONS[1][1].isoformat(),
    )
    assert (await read("work", OCT, third)).meta["submitted"] is True
    # B's transfer of 29 October, recorded on 20 November, is no adjustment as of the 8th; it is now.
    assert [r for r in (await read("work", NOV, third)).rows if r.get("adjusts")] == []
    adjusted = [r for r in (await read("work", NOV, None)).rows if r.get("adjusts") == "2026-10"]
    assert [(r["jurisdiction"], r["to_police"]) for r in adjusted] == [(STREET, 1), ("340102L01001", 1)]
    # The live version named as a projection reads as the live one (it was complete from its start).
    named = await build_table(conn, REGISTRY, ReportQuery("work", NOV, as_of="ledger_v1"), Scope(STREET), now)
    assert named.rows == (await read("work", NOV, None)).rows
