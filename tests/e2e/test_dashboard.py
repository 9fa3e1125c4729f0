"""The officials' dashboard in headless Chromium (Debian's package, driven by Playwright): log in with a
token, filter the ledger, open a case and see its timeline; screenshots go to var/screenshots/."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.harness import Stack, wait_until

pytestmark = pytest.mark.e2e
CHROMIUM = Path("/usr/bin/chromium")
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


@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium package is not installed")
def test_an_official_filters_the_ledger_and_opens_a_case(stack: Stack) -> None:
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
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
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
        finally:
            browser.close()


def open_case(page: Page, case_id: str) -> None:
    page.click(f"tr[data-case='{case_id}'] a.case-link")
    expect(page.locator("#case-title")).to_contain_text("商家颐养中心")
    events = page.locator("#timeline tr.event")
    expect(events.first).to_contain_text("线索上报")
    expect(events.nth(1)).to_contain_text("研判分级")
    hashes = page.locator("#timeline tr.event td.hash").all_inner_texts()
    assert all(len(h) >= 16 for h in hashes)
