"""The officials' dashboard in headless Chromium (Debian's package, driven by Playwright): log in with a
token, filter the ledger, open a case and see its timeline, check every chart figure against the JSON
API, and narrow the ledger to a month; screenshots go to var/screenshots/."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from services.reporting.domain import labels as L
from services.reporting.domain.periods import Period
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
SHANGJIA = "3703WCL02"  # 商家镇


def post_clue(stack: Stack, name: str, sector: str, amount: int) -> str:
    clue = {
        "jurisdiction": SHANGJIA,
        "source": "grid_patrol",
        "subject": {"kind": "company", "name": name, "address": "商家镇演示路1号"},
        "description": "网格员发现该主体以高额回报为名向村民吸收资金。",
        "sector": sector,
        "estimated_amount_yuan": amount,
        "participants": 45,
    }
    with stack.client("intake") as intake:
        response = intake.post("/v1/clues", json=clue)
    assert response.status_code == 202, response.text
    return str(response.json()["case_id"])


def test_an_official_filters_the_ledger_and_opens_a_case(stack: Stack, browser: Browser) -> None:
    tag = uuid.uuid4().hex[:6]
    elderly = post_clue(stack, f"商家颐养中心（{tag}）", "elderly_care", 2_000_000)
    farming = post_clue(stack, f"商家养殖合作社（{tag}）", "agriculture", 600_000)
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        wait_until(
            lambda: all(reporting.get(f"/v1/cases/{c}").json().get("grade") for c in (elderly, farming)),
            timeout=60,
            what="both clues graded in the ledger",
        )
    token = stack.token("street_officer", SHANGJIA, subject="商家镇处非办")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(f"{stack.url('reporting')}/dashboard")
    expect(page).to_have_url(f"{stack.url('reporting')}/dashboard/login")
    page.fill("#token", "not-a-token")
    page.click("#login")
    expect(page.locator("#login-error")).to_contain_text("令牌无效")
    page.fill("#token", token)
    page.click("#login")
    expect(page.locator("h2").filter(has_text="动态管理台账")).to_contain_text("商家镇")
    expect(page.locator("#chart-clues svg")).to_have_count(1)
    expect(page.locator("#chart-grades svg")).to_contain_text("各辖区风险等级分布")
    expect(page.locator("#chart-overdue svg")).to_contain_text("逾期")
    expect(page.locator(f"tr[data-case='{elderly}']")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.select_option("#f-sector", "elderly_care")
    page.click("#apply")
    expect(page).to_have_url(re.compile(r"sector=elderly_care"))
    expect(page.locator(f"tr[data-case='{elderly}']")).to_have_count(1)
    expect(page.locator(f"tr[data-case='{farming}']")).to_have_count(0)
    sectors = page.locator("#ledger tbody tr.ledger-row td:nth-child(4)").all_inner_texts()
    assert sectors and set(sectors) == {"养老"}
    page.screenshot(path=str(SCREENSHOTS / "dashboard-filtered.png"), full_page=True)

    open_case(page, elderly)
    page.screenshot(path=str(SCREENSHOTS / "case-timeline.png"), full_page=True)


def open_case(page: Page, case_id: str) -> None:
    page.click(f"tr[data-case='{case_id}'] a.case-link")
    expect(page.locator("#case-title")).to_contain_text("商家颐养中心")
    events = page.locator("#timeline tr.event")
    expect(events.first).to_contain_text("线索上报")
    expect(events.nth(1)).to_contain_text("研判分级")
    hashes = page.locator("#timeline tr.event td.hash").all_inner_texts()
    assert all(len(h) >= 16 for h in hashes)
    # notify told nobody of this case: its notices section says so, apart from the case's events.
    expect(page.locator("#notices-card h2")).to_contain_text("通知服务记录（共 0 条")
    expect(page.locator("#notices tr.notice")).to_have_count(0)


def logged_in(browser: Browser, stack: Stack, token: str) -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page.goto(f"{stack.url('reporting')}/dashboard/login")
    page.fill("#token", token)
    page.click("#login")
    expect(page.locator("#ledger")).to_have_count(1)
    return page


def segments(page: Page, chart: str) -> dict[tuple[str, str], int]:
    """(category, series) -> figure of every drawn segment of a chart (a zero draws none)."""
    found = page.locator(f"#{chart} svg rect[data-value]").evaluate_all(
        "els => els.map(e => [e.dataset.category, e.dataset.series, Number(e.dataset.value)])"
    )
    return {(category, series): value for category, series, value in found}


def month_bounds(period: Period) -> dict[str, str]:
    """The API's reported_from/reported_to (inclusive) for the cases reported in ``period``."""
    last = period.end - timedelta(microseconds=1)
    return {"reported_from": period.start.isoformat(), "reported_to": last.isoformat()}


def settled_total(api: httpx.Client, params: dict[str, str]) -> int:
    """The ledger total once every case of it is graded and two reads a second apart agree."""
    previous: list[Any] = [None]

    def same_twice() -> Any:
        page = api.get("/v1/cases", params={**params, "limit": 500}).json()
        now = (page["total"], [(r["case_id"], r["grade"]) for r in page["items"]])
        stable = now == previous[0] and all(grade for _, grade in now[1])
        previous[0] = now
        return now if stable else None

    return int(wait_until(same_twice, timeout=120, interval=1.0, what="a settled ledger")[0])


def test_every_chart_figure_is_the_one_the_api_serves(stack: Stack, browser: Browser) -> None:
    tag = uuid.uuid4().hex[:6]
    post_clue(stack, f"商家互助会（{tag}）", "commerce_services", 300_000)
    token = stack.token("street_officer", SHANGJIA, subject="商家镇处非办")
    month = Period.of(datetime.now(UTC))
    with stack.client("reporting", token=token) as api:
        settled_total(api, {})
        page = logged_in(browser, stack, token)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "dashboard-charts.png"), full_page=True)

        # Clues by month and sector: the ledger's cases reported in that month with that sector.
        clues = segments(page, "chart-clues")
        assert clues, "no clue drawn"
        months = [month]
        while len(months) < 6:
            months.insert(0, months[0].previous())
        sectors = {label: code for code, label in L.sector_options()}
        drawn_by_month: Counter[str] = Counter()
        for (category, series), value in clues.items():
            drawn_by_month[category] += value
            if series in sectors:
                period = next(m for m in months if f"{m.month}月" == category)
                total = api.get(
                    "/v1/cases", params={**month_bounds(period), "sector": sectors[series]}
                ).json()
                assert total["total"] == value, (category, series)
        for period in months:
            total = api.get("/v1/cases", params=month_bounds(period)).json()["total"]
            assert drawn_by_month[f"{period.month}月"] == total, period

        # Grades by place (商家镇 has no communities: one bar, itself).
        grades = segments(page, "chart-grades")
        everything = api.get("/v1/cases").json()["total"]
        graded = 0
        for code in ("major", "serious", "general", "low"):
            count = api.get("/v1/cases", params={"grade": code}).json()["total"]
            graded += count
            assert grades.get(("商家镇", L.GRADES[code]), 0) == count, code
        assert grades.get(("商家镇", L.GRADES["ungraded"]), 0) == everything - graded

        # Overdue reports and ageing lists: the deadlines and ageing tables of the month.
        overdue = segments(page, "chart-overdue")
        deadlines = api.get("/v1/reports/deadlines", params={"period": str(month)}).json()["rows"]
        late = Counter(r["level"] for r in deadlines if r["overdue"])
        ageing = Counter(
            r["years"] for r in api.get("/v1/reports/ageing", params={"period": str(month)}).json()["rows"]
        )
        expected = {
            "社区逾期未报": late["社区/村"],
            "街道逾期未报": late["街道/乡镇"],
            "立案满2年未结": ageing[2],
            "立案满3年未结": ageing[3] + ageing[4],
            "立案满5年未结": sum(n for years, n in ageing.items() if years >= 5),
        }
        assert {item: overdue.get((item, "件数"), 0) for item in expected} == expected


def test_the_period_narrows_the_ledger_to_the_cases_reported_in_it(stack: Stack, browser: Browser) -> None:
    tag = uuid.uuid4().hex[:6]
    case_id = post_clue(stack, f"商家理财工作室（{tag}）", "wealth_management", 900_000)
    token = stack.token("street_officer", SHANGJIA, subject="商家镇处非办")
    this_month = Period.of(datetime.now(UTC))
    earlier = this_month.previous()
    with stack.client("reporting", token=token) as api:
        wait_until(lambda: api.get(f"/v1/cases/{case_id}").status_code == 200, what="the clue in the ledger")
        page = logged_in(browser, stack, token)
        expect(page.locator("#ledger-period")).to_contain_text("全部时期")

        page.fill("#f-period", str(earlier))
        page.click("#apply")
        expect(page).to_have_url(re.compile(rf"period={earlier}"))
        expect(page.locator("#ledger-period")).to_contain_text(earlier.label)
        expected = api.get("/v1/cases", params=month_bounds(earlier)).json()["total"]
        expect(page.locator("#ledger-total")).to_have_text(str(expected))
        expect(page.locator(f"tr[data-case='{case_id}']")).to_have_count(0)
        expect(page.locator("#chart-overdue svg")).to_contain_text(earlier.label)

        page.fill("#f-period", str(this_month))
        page.click("#apply")
        expect(page.locator("#ledger-period")).to_contain_text(this_month.label)
        total = int(page.locator("#ledger-total").inner_text())
        assert total == api.get("/v1/cases", params=month_bounds(this_month)).json()["total"] >= 1
        expect(page.locator(f"tr[data-case='{case_id}']")).to_have_count(1)
        numbers = page.locator("#ledger tbody tr.ledger-row td:first-child").all_inner_texts()
        assert numbers[:3] == [str(n) for n in range(1, min(3, total) + 1)]
        page.screenshot(path=str(SCREENSHOTS / "dashboard-period.png"), full_page=True)
