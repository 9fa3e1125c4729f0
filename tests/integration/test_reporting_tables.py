"""Golden tests: the known event set of golden_reporting.py projected into a real database, and every
table read back through the code the API uses, against figures worked out by hand from the events."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from openpyxl import load_workbook

from services.reporting.adapters.reports import build_table, build_tables
from services.reporting.domain.exports import export_bytes
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import ReportQuery, Scope
from tests.integration.golden_reporting import (
    DADIAN,
    HUADU,
    REGISTRY,
    SHICHENG,
    SHOU_COUNTY,
    STREET,
    XINZHAN,
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
OCT, SEP = Period(2026, 10), Period(2026, 9)
NOW = datetime(2026, 11, 10, 12, tzinfo=CST)


@pytest.fixture(scope="module")
async def golden() -> AsyncIterator[tuple[asyncpg.Connection, dict[str, CaseBuilder]]]:
    cases = golden_cases()
    dsn = await fresh_database()
    conn = await asyncpg.connect(dsn)
    try:
        await project(conn, incoming(log_order(cases)))
        yield conn, cases
    finally:
        await conn.close()
        await drop_database(dsn)


async def table(conn: asyncpg.Connection, name: str, period: Period = OCT, root: str = STREET,
                police: bool = False, **filters: Any) -> Any:  # fmt: skip
    return await build_table(
        conn, REGISTRY, ReportQuery(name, period, **filters), Scope(root, police), now=NOW
    )


ZERO = dict.fromkeys(
    ["new_clues", "from_grid", "from_public", "from_monitoring", "from_referral", "participants",
     "amount_yuan", "determined", "measures", "to_police", "police_accepted", "closed", "recovered_yuan",
     "rewards_yuan", "open_at_end"], 0,
)  # fmt: skip


async def test_work_statistics_roll_up_from_communities_to_the_street(golden: Any) -> None:
    conn, _ = golden
    work = await table(conn, "work")
    rows = by(work.rows, "jurisdiction")
    assert [r["jurisdiction"] for r in work.rows][:2] == [STREET, HUADU]
    assert len(work.rows) == 11  # the street and its ten communities
    assert {k: rows[HUADU][k] for k in ZERO} == {**ZERO, "new_clues": 2, "from_grid": 1, "from_public": 1,
        "participants": 160, "amount_yuan": 2_300_000, "determined": 2, "measures": 4, "to_police": 1,
        "closed": 1, "recovered_yuan": 500_000, "rewards_yuan": 2_000, "open_at_end": 1}  # fmt: skip
    assert {k: rows[SHICHENG][k] for k in ZERO} == {
        **ZERO, "determined": 1, "to_police": 1, "police_accepted": 1, "open_at_end": 1,
    }  # fmt: skip
    # H was written off (counted as 办结销号 with its recovery) and reopened the next day: open at the end.
    assert {k: rows[XINZHAN][k] for k in ZERO} == {
        **ZERO, "new_clues": 1, "from_monitoring": 1, "participants": 20, "amount_yuan": 1_000_000,
        "determined": 1, "measures": 1, "closed": 1, "recovered_yuan": 900_000, "open_at_end": 1,
    }  # fmt: skip
    assert {k: rows[DADIAN][k] for k in ZERO} == {
        **ZERO, "new_clues": 2, "from_public": 2, "participants": 60, "amount_yuan": 800_000,
        "determined": 1, "closed": 1, "open_at_end": 1,
    }  # fmt: skip
    assert {k: rows[STREET][k] for k in ZERO} == {
        **ZERO, "new_clues": 5, "from_grid": 1, "from_public": 3, "from_monitoring": 1, "participants": 240,
        "amount_yuan": 4_100_000, "determined": 5, "measures": 5, "to_police": 2, "police_accepted": 1,
        "closed": 3, "recovered_yuan": 1_400_000, "rewards_yuan": 2_000, "open_at_end": 4,
    }  # fmt: skip
    assert {k: rows["340102L01005"][k] for k in ZERO} == ZERO
    assert rows[STREET]["jurisdiction_name"] == "龙岗街道" and rows[HUADU]["level"] == "社区/村"


async def test_work_statistics_of_september_and_up_to_the_city(golden: Any) -> None:
    conn, _ = golden
    september = by((await table(conn, "work", SEP)).rows, "jurisdiction")
    assert {k: september[STREET][k] for k in ZERO} == {
        **ZERO, "new_clues": 1, "from_monitoring": 1, "participants": 1500, "amount_yuan": 150_000_000,
        "open_at_end": 1,
    }  # fmt: skip
    city = by((await table(conn, "work", root="340100")).rows, "jurisdiction")
    assert [city[c]["new_clues"] for c in ("340100", "340102", STREET)] == [5, 5, 5]
    november = by((await table(conn, "work", Period(2026, 11))).rows, "jurisdiction")
    assert november[SHICHENG]["new_clues"] == 1 and november[STREET]["open_at_end"] == 5


async def test_filters_and_police_scope(golden: Any) -> None:
    conn, _ = golden
    major = by((await table(conn, "work", grade="major")).rows, "jurisdiction")
    assert (major[STREET]["new_clues"], major[STREET]["to_police"], major[STREET]["open_at_end"]) == (0, 1, 1)
    elderly = by((await table(conn, "work", sector="elderly_care")).rows, "jurisdiction")
    assert (elderly[STREET]["new_clues"], elderly[STREET]["closed"]) == (1, 1)
    police = by((await table(conn, "work", police=True)).rows, "jurisdiction")
    assert (police[STREET]["new_clues"], police[STREET]["to_police"], police[STREET]["open_at_end"]) == (
        1,
        2,
        1,
    )
    huadu = await table(conn, "work", root=HUADU)
    assert len(huadu.rows) == 1 and huadu.rows[0]["new_clues"] == 2


async def test_disposal_statistics_by_sector(golden: Any) -> None:
    conn, _ = golden
    disposal = await table(conn, "disposal")
    rows = by(disposal.rows, "sector_name")
    assert [r["sector_name"] for r in disposal.rows] == [
        "涉农",
        "养老",
        "影视投资",
        "未注明",
        "虚拟货币",
        "第三方财富管理",
        "合计",
    ]
    assert rows["涉农"] | {} == {**rows["涉农"], "total": 1, "new": 1, "grade_low": 1, "det_no_violation": 1,
                              "closed": 1, "open": 0, "amount_yuan": 800_000, "participants": 60}  # fmt: skip
    assert (rows["养老"]["grade_serious"], rows["养老"]["det_suspected_illegal_fundraising"],
            rows["养老"]["to_police"], rows["养老"]["recovered_yuan"]) == (1, 1, 1, 500_000)  # fmt: skip
    assert (rows["未注明"]["grade_ungraded"], rows["未注明"]["det_none"], rows["未注明"]["open"]) == (1, 1, 1)
    assert (rows["第三方财富管理"]["new"], rows["第三方财富管理"]["grade_major"],
            rows["第三方财富管理"]["det_suspected_crime"]) == (0, 1, 1)  # fmt: skip
    total = rows["合计"]
    assert (total["total"], total["new"], total["to_police"], total["police_accepted"]) == (6, 5, 2, 1)
    assert (total["closed"], total["open"]) == (2, 4)
    grades = [total[f"grade_{g}"] for g in ("major", "serious", "general", "low", "ungraded")]
    assert grades == [1, 1, 2, 1, 1]
    assert (total["amount_yuan"], total["participants"]) == (154_100_000, 1740)
    assert total["recovered_yuan"] == 1_400_000
    film = rows["影视投资"]
    assert (film["det_regularise"], film["closed"], film["open"], film["recovered_yuan"]) == (
        1,
        0,
        1,
        900_000,
    )
    september = by((await table(conn, "disposal", SEP)).rows, "sector_name")
    # In September case C was graded but not yet determined.
    assert september["合计"]["total"] == 1 and september["合计"]["det_none"] == 1


async def test_cross_province_register(golden: Any) -> None:
    conn, cases = golden
    register = await table(conn, "cross_province")
    assert [(r["no"], r["case_id"], r["provinces"]) for r in register.rows] == [
        (1, str(cases["C"].case_id), "宁夏回族自治区"),
        (2, str(cases["B"].case_id), "山东省"),
    ]
    c = register.rows[0]
    assert (c["police"], c["progress"], c["grade_name"], c["amount_yuan"]) == (
        "已立案",
        "在办",
        "重大",
        150_000_000,
    )
    # Before the notice to 利通区 (10-05), September shows no other province for C.
    assert (await table(conn, "cross_province", SEP)).rows == []


async def test_no_fundraising_communities(golden: Any) -> None:
    """New cases count in the month they were first determined suspected illegal fundraising or crime:
    A (reported and determined in October) and C (reported 20 September, determined 2 October) are new
    cases of October; September has C's clue but no new case."""
    conn, _ = golden
    rows = (await table(conn, "no_fundraising")).rows
    assert len(rows) == 11
    community = by([r for r in rows if r["community"]], "community")
    keys = ("new_clues", "new_cases", "participants", "qualifies")
    assert tuple(community[HUADU][k] for k in keys) == (2, 1, 120, "否")
    assert tuple(community[SHICHENG][k] for k in keys) == (0, 1, 1500, "否")
    assert tuple(community[DADIAN][k] for k in keys) == (2, 0, 0, "是")
    assert tuple(community[XINZHAN][k] for k in keys) == (1, 0, 0, "是")
    subtotal = rows[-1]
    assert tuple(subtotal[k] for k in ("community_name", *keys)) == ("小计", 5, 2, 1620, "8/10")
    september = by([r for r in (await table(conn, "no_fundraising", SEP)).rows], "community")
    assert tuple(september[SHICHENG][k] for k in keys) == (1, 0, 0, "是")
    assert tuple(september[None][k] for k in keys) == (1, 0, 0, "10/10")
    november = by([r for r in (await table(conn, "no_fundraising", Period(2026, 11))).rows], "community")
    assert tuple(november[SHICHENG][k] for k in keys) == (1, 0, 0, "是")  # E's clue; C is not new again


async def test_ageing_lists_keep_filed_cases_until_they_are_cleared(golden: Any) -> None:
    """The four cases of 双桥镇: K (filed 2020-06-15, open), J (filed 2023-04-01, closed by the office as
    transferred to the police), M (filed 2024-10-20, likewise) stay listed; L was written off."""
    conn, cases = golden
    october = await table(conn, "ageing", root=SHOU_COUNTY)
    assert october.meta["at"] == "2026-11-01T00:00:00+08:00"
    expected = [
        (1, "K", "刑事立案5年以上：须全部出清", 6, "2020-06-15T00:00:00+08:00", "癸康养服务（演示）",
         50_000_000, 800, "在办"),
        (2, "J", "刑事立案3年以上：领导挂牌督办", 3, "2023-04-01T10:00:00+08:00", "壬牲畜托管合作社（演示）",
         3_000_000, 200, "已移送公安办结，待审判清退"),
        (3, "M", "超过立案后2年审判终结、完成资金清退时限", 2, "2024-10-20T10:00:00+08:00",
         "丑数字资产（演示）", 700_000, 35, "已移送公安办结，待审判清退"),
    ]  # fmt: skip
    keys = ("no", "case_id", "rule", "years", "filed_at", "subject_name", "amount_yuan", "participants",
            "progress")  # fmt: skip
    assert [tuple(r[k] for k in keys) for r in october.rows] == [
        (no, str(cases[name].case_id), *rest) for no, name, *rest in expected
    ]
    assert {r["jurisdiction_name"] for r in october.rows} == {"双桥镇"}
    # At the end of September M had been filed one year and eleven months: not yet listed.
    september = await table(conn, "ageing", SEP, root=SHOU_COUNTY)
    assert [r["case_id"] for r in september.rows] == [str(cases[k].case_id) for k in ("K", "J")]
    # 龙岗街道's C was filed on 8 October 2026: on no list.
    assert (await table(conn, "ageing", root=STREET)).rows == []


async def test_ledger_total_risk_list_and_key_risks(golden: Any) -> None:
    conn, cases = golden
    ledger = await table(conn, "ledger")
    assert len(ledger.rows) == 7
    risks = (await table(conn, "risks")).rows
    assert sorted(r["case_id"] for r in risks) == sorted(str(cases[k].case_id) for k in "BCDEH")
    assert [r["no"] for r in risks] == [1, 2, 3, 4, 5]
    key = (await table(conn, "key_risks")).rows
    assert [r["case_id"] for r in key] == [str(cases["C"].case_id)]
    c = key[0]
    keys = ("grade_name", "department", "determination_name", "transferred_to_police", "status_name")
    assert tuple(c[k] for k in keys) == ("重大", "财政金融局", "涉嫌犯罪", True, "已移送公安")
    assert (c["police_case_number"], c["police_accepted_at"][:10]) == ("瑶公刑立〔2026〕001号", "2026-10-08")
    assert c["regions_involved"] == ["640302"]
    a = by(ledger.rows, "case_id")[str(cases["A"].case_id)]
    assert (a["measures_names"], a["recovered_amount_yuan"], a["written_off"], a["closed_at"][:10]) == (
        "警示约谈、责令限期整改",
        500_000,
        False,
        "2026-10-25",
    )


async def test_deadlines_and_overdue(golden: Any) -> None:
    conn, _ = golden
    rows = by((await table(conn, "deadlines")).rows, "jurisdiction")
    assert (rows[STREET]["due"], rows[STREET]["state"], rows[STREET]["days_late"]) == (
        "2026-11-05",
        "逾期未报",
        5,
    )
    assert (rows[HUADU]["due"], rows[HUADU]["state"], rows[HUADU]["days_late"]) == (
        "2026-10-20",
        "逾期未报",
        21,
    )
    early = await build_table(conn, REGISTRY, ReportQuery("deadlines", OCT), Scope(STREET),
                              now=datetime(2026, 10, 20, 23, 59, tzinfo=CST))  # fmt: skip
    assert {r["state"] for r in early.rows} == {"待报送"}


async def test_the_annex_workbook_of_the_golden_month(golden: Any) -> None:
    conn, cases = golden
    tables = await build_tables(conn, REGISTRY, ReportQuery("annex", OCT), Scope(STREET), now=NOW)
    book = load_workbook(io.BytesIO(export_bytes(tables, "xlsx")))
    work, disposal, register = book.worksheets
    assert (work.title, work["A1"].value, work["A2"].value) == (
        "工作情况统计表",
        "打击非法集资专项行动工作情况统计表",
        "填报单位：龙岗街道    统计期：2026年10月",
    )
    assert [c.value for c in work[3]][:5] == [
        "序号",
        "单位",
        "层级",
        "本期排查发现风险线索（条）",
        "其中：网格排查（条）",
    ]
    assert [c.value for c in work[4]] == [
        1, "龙岗街道", "街道/乡镇", 5, 1, 3, 1, 0, 240, 4_100_000, 5, 5, 2, 1, 3, 1_400_000, 2_000, 4,
    ]  # fmt: skip
    assert [c.value for c in work[5]] == [
        2, "华都社区", "社区/村", 2, 1, 1, 0, 0, 160, 2_300_000, 2, 4, 1, 0, 1, 500_000, 2_000, 1,
    ]  # fmt: skip
    assert work.max_row == 3 + 11
    assert [c.value for c in disposal[disposal.max_row]][:4] == [None, "合计", 6, 5]
    assert [c.value for c in register[4]][:5] == [1, "丙财富管理（演示）", None, "史城社区", "宁夏回族自治区"]
    assert len(register[4]) == len(register[3]) and register["N4"].value == str(cases["C"].case_id)
    csv_text = export_bytes(tables[:1], "csv").decode("utf-8-sig").splitlines()
    assert csv_text[1] == "1,龙岗街道,街道/乡镇,5,1,3,1,0,240,4100000,5,5,2,1,3,1400000,2000,4"
