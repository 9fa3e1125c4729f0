"""Submitted months on the golden event set: frozen as sent, and a late event for a submitted month shown
as adjustment rows of the next month, carried once (a later submission's adjustments count as sent) — in
the work and disposal tables and in the cross-province register."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook

from cluetrail.settings import CommonSettings
from contracts.envelope import Actor
from contracts.events import HandoffAccepted, HandoffAcceptedPayload
from contracts.reports import read_submission, submission_bytes
from services.reporting.adapters.reports import build_table, build_tables, prepare_submission
from services.reporting.adapters.submissions import store_submission
from services.reporting.domain.exports import export_bytes
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import ReportQuery, Scope
from services.reporting.domain.submissions import AlreadySubmitted
from tests.integration.golden_reporting import (
    HUADU,
    REGISTRY,
    STREET,
    CaseBuilder,
    by,
    drop_database,
    fresh_database,
    golden_cases,
    incoming,
    log_order,
    project,
)

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


async def test_the_cross_province_register_of_a_submitted_month_is_corrected_by_adjustment_rows() -> None:
    """Figures worked out by hand from the golden events plus G (华都, clue of 25 September reaching the log
    after September was submitted, also in 淄博 3703WC, 山东), then B sent to the police on 29 October and
    G handed over to 萌水镇 (山东) on 30 October, both reaching the log after October was submitted."""
    cases = golden_cases()
    late = CaseBuilder(HUADU).clue(
        "09-25", "grid_patrol", "辛跨省养老（演示）", "elderly_care", 100_000, 5, ["3703WC"]
    )
    g, b, c = str(late.case_id), str(cases["B"].case_id), str(cases["C"].case_id)
    dsn = await fresh_database()
    conn = await asyncpg.connect(dsn)
    try:
        await project(conn, incoming(log_order(cases)))
        september = await submit(conn, SEP, "2026-10-03T09:00:00", 0)
        assert september.tables[2].name == "cross_province" and september.tables[2].rows == []

        await project(conn, incoming(late.events))
        assert (await table(conn, "cross_province", SEP)).rows == []  # served as sent
        october = (await table(conn, "cross_province", OCT)).rows
        assert [(r["no"], r["case_id"]) for r in october] == [(1, c), (2, g), (3, b), ("调整", g)]
        assert {k: v for k, v in october[3].items() if k != "reported_at"} == {
            "no": "调整", "adjusts": "2026-09", "adjustment": "added", "case_id": g,
            "subject_name": "（2026年9月调整·补报）辛跨省养老（演示）", "credit_code": "",
            "jurisdiction": HUADU, "jurisdiction_name": "华都社区", "provinces": "山东省",
            "sector_name": "养老", "amount_yuan": 100_000, "participants": 5, "grade_name": "未定级",
            "police": "未移送", "progress": "在办", "recovered_yuan": 0,
        }  # fmt: skip
        assert datetime.fromisoformat(october[3]["reported_at"]) == late.events[0].occurred_at

        sent_october = await submit(conn, OCT, "2026-11-03T09:00:00", 1)
        assert [r["case_id"] for r in sent_october.tables[2].rows] == [c, g, b, g]
        # September's correction went out with October: nothing is left to adjust.
        assert [r for r in (await table(conn, "cross_province", NOV)).rows if r.get("adjusts")] == []

        cases["B"].escalated("10-29", "police", "340102")
        handoff = HandoffAcceptedPayload(from_jurisdiction=HUADU, to_jurisdiction="3703WCL01")
        late.add(HandoffAccepted, handoff, "10-30")
        await project(conn, incoming([cases["B"].events[-1], late.events[-1]]))
        frozen = await table(conn, "cross_province", OCT)
        assert frozen.meta["submitted"] and [r["police"] for r in frozen.rows] == [
            "已立案",
            "未移送",
            "未移送",
            "未移送",
        ]
        november = (await table(conn, "cross_province", NOV)).rows
        assert [(r["no"], r["case_id"], r.get("adjusts"), r.get("adjustment")) for r in november] == [
            (1, c, None, None), (2, b, None, None),
            ("调整", g, "2026-10", "withdrawn"), ("调整", b, "2026-10", "changed"),
        ]  # fmt: skip
        withdrawn, changed = november[2], november[3]
        assert (withdrawn["subject_name"], withdrawn["jurisdiction_name"], withdrawn["police"]) == (
            "（2026年10月调整·撤回）辛跨省养老（演示）", "华都社区", "未移送",
        )  # fmt: skip
        assert (changed["subject_name"], changed["police"], changed["progress"], changed["provinces"]) == (
            "（2026年10月调整·更正）乙数字科技（演示）", "已移送", "在办", "山东省",
        )  # fmt: skip
        # The work table of November corrects October the same way: B sent to the police, G gone.
        work = [r for r in (await table(conn, "work", NOV)).rows if r.get("adjusts")]
        figures = [(r["jurisdiction"], {k: v for k, v in r.items() if isinstance(v, int) and v})
                   for r in work]  # fmt: skip
        assert figures == [
            (STREET, {"to_police": 1, "open_at_end": -1}), (HUADU, {"to_police": 1, "open_at_end": -1}),
        ]  # fmt: skip

        # The export carries the adjustment rows under the register's own columns.
        query = ReportQuery("annex", NOV)
        tables = await build_tables(conn, REGISTRY, query, Scope(STREET), datetime(2026, 12, 1, tzinfo=CST))
        register = load_workbook(io.BytesIO(export_bytes(tables, "xlsx"))).worksheets[2]
        assert register.max_row == 3 + 4
        assert [register.cell(row=6, column=k).value for k in (1, 2, 4, 11, 14)] == [
            "调整", "（2026年10月调整·撤回）辛跨省养老（演示）", "华都社区", "未移送", g,
        ]  # fmt: skip
        assert [register.cell(row=7, column=k).value for k in (1, 2, 11, 12)] == [
            "调整", "（2026年10月调整·更正）乙数字科技（演示）", "已移送", "在办",
        ]  # fmt: skip
        lines = export_bytes(tables[2:], "csv").decode("utf-8-sig").splitlines()
        assert len(lines) == 1 + 4 and lines[4].startswith("调整,（2026年10月调整·更正）乙数字科技（演示）,")
    finally:
        await conn.close()
        await drop_database(dsn)
