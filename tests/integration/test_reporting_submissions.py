"""Submitted months on the golden event set: frozen as sent, and a late event for a submitted month shown
as adjustment rows of the next month, carried once (a later submission's adjustments count as sent)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import pytest

from cluetrail.settings import CommonSettings
from contracts.envelope import Actor
from contracts.reports import read_submission, submission_bytes
from services.reporting.adapters.submissions import store_submission
from services.reporting.domain.periods import CST, Period
from services.reporting.reports import ReportQuery, Scope, build_table
from services.reporting.submit import AlreadySubmitted, prepare_submission
from tests.integration.golden_reporting import (
    HUADU,
    STREET,
    CaseBuilder,
    drop_database,
    fresh_database,
    golden_cases,
    incoming,
    log_order,
    project,
)
from tests.integration.test_reporting_tables import REGISTRY, by

pytestmark = pytest.mark.integration
SEP, OCT, NOV = Period(2026, 9), Period(2026, 10), Period(2026, 11)
OFFICER = Actor(kind="officer", id="longgang-office", role="street_officer")
SETTINGS = CommonSettings(topic_prefix="golden")


async def submit(conn: asyncpg.Connection, period: Period, now: str, offset: int) -> Any:
    """Submit as the API does, then keep it as the submissions subscriber does (through its wire form)."""
    sealed = await prepare_submission(
        conn, REGISTRY, SETTINGS, OFFICER, STREET, period, datetime.fromisoformat(now).replace(tzinfo=CST)
    )
    await store_submission(conn, read_submission(submission_bytes(sealed)), 0, offset)
    return sealed


async def table(conn: asyncpg.Connection, name: str, period: Period, live: bool = False) -> Any:
    query = ReportQuery(name, period, live=live)
    return await build_table(conn, REGISTRY, query, Scope(STREET), now=datetime(2026, 12, 1, tzinfo=CST))


async def test_a_late_event_for_a_submitted_month_becomes_adjustment_rows_of_the_next() -> None:
    cases = golden_cases()
    late = CaseBuilder(HUADU).clue("09-25", "grid_patrol", "辛养老驿站（演示）", "elderly_care", 100_000, 5)
    dsn = await fresh_database()
    conn = await asyncpg.connect(dsn)
    try:
        await project(conn, incoming(log_order(cases)))
        september = await submit(conn, SEP, "2026-10-03T09:00:00", 0)
        assert [t.name for t in september.tables] == ["work", "disposal", "cross_province"]
        assert by(september.tables[0].rows, "jurisdiction")[STREET]["new_clues"] == 1
        with pytest.raises(AlreadySubmitted):
            await submit(conn, SEP, "2026-10-04T09:00:00", 1)

        # A clue that happened on 25 September reaches the log only now.
        await project(conn, incoming(late.events))
        frozen = await table(conn, "work", SEP)
        assert frozen.meta["submitted"] and frozen.meta["submission"] == str(september.submission_id)
        assert by(frozen.rows, "jurisdiction")[STREET]["new_clues"] == 1  # as sent, not silently changed
        assert by((await table(conn, "work", SEP, live=True)).rows, "jurisdiction")[STREET]["new_clues"] == 2

        october = await table(conn, "work", OCT)
        adjustments = [r for r in october.rows if r.get("adjusts")]
        assert [(r["jurisdiction"], r["jurisdiction_name"]) for r in adjustments] == [
            (STREET, "（2026年9月调整）龙岗街道"),
            (HUADU, "（2026年9月调整）华都社区"),
        ]
        for row in adjustments:
            changed = {k: v for k, v in row.items() if isinstance(v, int) and v and k != "no"}
            assert changed == {"new_clues": 1, "from_grid": 1, "participants": 5, "amount_yuan": 100_000,
                               "open_at_end": 1}  # fmt: skip
        disposal = [r for r in (await table(conn, "disposal", OCT)).rows if r.get("adjusts")]
        assert [(r["sector"], r["total"], r["new"], r["grade_ungraded"], r["open"]) for r in disposal] == [
            ("elderly_care", 1, 1, 1, 1)
        ]

        # October goes out with the adjustment rows; November has nothing left to adjust for September.
        sent_october = await submit(conn, OCT, "2026-11-03T09:00:00", 2)
        assert [r["jurisdiction"] for r in sent_october.tables[0].rows if r.get("adjusts")] == [STREET, HUADU]
        assert [r for r in (await table(conn, "work", NOV)).rows if r.get("adjusts")] == []

        # Grading the late clue (as of 26 September) changes no work figure, but the grades of both submitted
        # months (the disposal table counts every case as it stood at the end of its month).
        await project(conn, incoming(late.assessed("09-26", "low").events[-1:]))
        assert [r for r in (await table(conn, "work", NOV)).rows if r.get("adjusts")] == []
        regraded = [r for r in (await table(conn, "disposal", NOV)).rows if r.get("adjusts")]
        assert [
            (r["adjusts"], r["sector"], r["grade_low"], r["grade_ungraded"], r["total"]) for r in regraded
        ] == [("2026-09", "elderly_care", 1, -1, 0), ("2026-10", "elderly_care", 1, -1, 0)]
    finally:
        await conn.close()
        await drop_database(dsn)
