"""The whole job in headless Chromium (Debian's package, driven by Playwright) against the running
services: a citizen reports a care home on the public page on a phone, with a photo, and keeps the receipt
code; 龙岗街道's office determines a suspected crime, which reports the case to 瑶海区's lead office; the
lead office transfers it to the police, the police accept it, and the lead office closes it and writes the
risk off; the citizen follows the stages on the follow-up page. Another case is handed from 瑶海区 to 寿县
and accepted there.

Screenshots of every page go to var/screenshots/ (``CLUETRAIL_SCREENSHOTS_DIR`` elsewhere: docs/web.md shows
the ones taken into docs/screenshots/).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.cases import (
    LONGGANG_HUADU,
    LONGGANG_STREET,
    SHOUXIAN,
    YAOHAI,
    credit_code,
    reader,
    report,
    unique_shop,
    wait_for_case,
)
from tests.harness import ROOT, Stack, wait_until

pytestmark = pytest.mark.e2e
SCREENSHOTS = Path(os.environ.get("CLUETRAIL_SCREENSHOTS_DIR") or ROOT / "var" / "screenshots")
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
# A 1x1 PNG: the storefront photo.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a2fd1f0b0000000049454e44ae426082"
)


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def officer(
    browser: Browser, stack: Stack, role: str, jurisdiction: str, subject: str, *, login_shot: str = ""
) -> Page:
    """A desktop browser signed in to the workspace as the officer."""
    page = browser.new_context(viewport=DESK, locale="zh-CN").new_page()
    page.goto(f"{stack.url('triage')}/workspace")
    expect(page).to_have_url(f"{stack.url('triage')}/workspace/login")
    if login_shot:
        page.fill("#token", "not-a-token")
        page.click("#login")
        expect(page.locator("#login-error")).to_contain_text("令牌无效")
        shot(page, login_shot)
    page.fill("#token", stack.token(role, jurisdiction, subject=subject))
    page.click("#login")
    expect(page.locator("#who")).to_contain_text(subject)
    return page


def open_from_inbox(page: Page, section: str, case_id: str) -> None:
    page.goto(page.url.split("/workspace")[0] + "/workspace")
    link = page.locator(f"#inbox-{section} li[data-case='{case_id}'] a.case-link")
    expect(link).to_have_count(1)
    link.click()
    expect(page.locator("#case-title")).to_be_visible()


def waiting_in(page: Page, section: str, name: str) -> str | None:
    """The case about ``name`` in the inbox's ``section``, once it is there (the inbox is loaded again)."""
    page.reload()
    found = page.locator(f"#inbox-{section} li.case", has_text=name)
    return found.first.get_attribute("data-case") if found.count() else None


def take(page: Page, action: str, fields: dict[str, str], *, selects: dict[str, str] | None = None) -> None:
    """Open the action's form, fill it and send it; the page comes back saying it was done."""
    page.click(f"#action-{action} summary")
    for name, value in (selects or {}).items():
        page.select_option(f"#{action}-{name}", value)
    for name, value in fields.items():
        page.fill(f"#{action}-{name}", value)
    page.click(f"#submit-{action}")
    expect(page.locator("#done")).to_be_visible()


def test_a_case_from_the_public_page_to_its_write_off(browser: Browser, stack: Stack) -> None:
    name = f"华都福寿康养中心（{uuid.uuid4().hex[:6]}）"
    code = credit_code()
    wrong = code[:17] + ("0" if code[17] != "0" else "1")

    # A citizen reports on a phone, with a photo, and keeps the receipt code.
    phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{stack.url('intake')}/report")
    phone.select_option("#subject-kind", "company")
    phone.fill("#subject-name", name)
    phone.fill("#subject-credit_code", wrong)
    expect(phone.locator("#credit-code-live")).to_contain_text(f"第18位应为 {code[17]}")
    shot(phone, "report-credit-code-phone")
    phone.fill("#subject-credit_code", code)
    expect(phone.locator("#credit-code-live")).to_have_text("统一社会信用代码校验通过。")
    phone.fill("#subject-address", "华都路28号")
    phone.select_option("#jurisdiction", LONGGANG_HUADU)
    phone.fill("#description", "以预订养老床位为名向老人收取押金，承诺每年返利15%，近期已无法兑付。")
    phone.select_option("#sector", "elderly_care")
    phone.check("#flags input[value='vulnerable_targets']")
    phone.fill("#estimated_amount_yuan", "3000000")
    phone.fill("#participants", "120")
    phone.set_input_files(
        "#evidence", files=[{"name": "门头照片.png", "mimeType": "image/png", "buffer": PHOTO}]
    )
    phone.check("#identity-named")
    phone.fill("#reporter-name", "举报人丙")
    phone.fill("#reporter-phone", "000-0003")
    shot(phone, "report-phone")
    phone.click("#submit")
    expect(phone.locator("#receipt-code")).to_be_visible()
    expect(phone.locator("#receipt-warning")).to_contain_text("请立即抄写或截图保存回执码")
    receipt_code = phone.locator("#receipt-code").inner_text().strip()
    shot(phone, "receipt-phone")

    # 龙岗街道's office finds the new clue in its inbox once triage graded it, and determines a suspected
    # crime: the case goes to 瑶海区's lead office.
    street = officer(
        browser, stack, "street_officer", LONGGANG_STREET, "龙岗街道处非办", login_shot="workspace-login"
    )
    case_id = wait_until(lambda: waiting_in(street, "new", name), timeout=60, what="the clue in the inbox")
    shot(street, "workspace-inbox-street")
    open_from_inbox(street, "new", case_id)
    page_text = street.content()
    assert "举报人丙" not in page_text and "form-reporter" not in page_text
    take(
        street,
        "determination",
        {"basis": "现场核查：以养老床位预订为名吸收公众资金，已无力兑付，涉嫌非法吸收公众存款。"},
        selects={"determination": "suspected_crime"},
    )
    expect(street.locator("#case-status")).to_have_attribute("data-status", "escalated")
    expect(street.locator("#case-waiting")).to_contain_text("瑶海区")
    shot(street, "workspace-case-street")

    # The lead office transfers it to the police.
    lead = officer(browser, stack, "district_lead_officer", YAOHAI, "瑶海区处非办")
    expect(lead.locator(f"#inbox-escalated li[data-case='{case_id}']")).to_have_count(1)
    shot(lead, "workspace-inbox-lead")
    open_from_inbox(lead, "escalated", case_id)
    expect(lead.locator("#unavailable-escalation")).to_contain_text("区处非办是逐级上报的最高一级")
    take(
        lead,
        "transfer",
        {
            "reason": "涉嫌非法吸收公众存款，移送公安机关",
            "summary": "该公司以养老床位预订为名吸收120名老人资金约300万元，已无力兑付。",
        },
    )
    expect(lead.locator("#case-status")).to_have_attribute("data-status", "transferred")

    # The police accept it.
    police = officer(browser, stack, "police", YAOHAI, "瑶海分局经侦大队")
    expect(police.locator(f"#inbox-police li[data-case='{case_id}']")).to_have_count(1)
    shot(police, "workspace-inbox-police")
    open_from_inbox(police, "police", case_id)
    take(police, "police-acceptance", {"police_case_number": "瑶公经立字〔2026〕118号"})
    expect(police.locator("#case-police")).to_contain_text("已受理立案")
    shot(police, "workspace-case-police")

    # While the police hold it, the lead office sees why it cannot write it off; it closes it with the
    # police's result, then writes the risk off.
    lead.goto(f"{stack.url('triage')}/workspace/cases/{case_id}")
    lead.click("#action-write-off summary")
    expect(lead.locator("#unavailable-write-off")).to_contain_text("案件仍在公安机关办理中")
    shot(lead, "workspace-case-refusal")
    take(
        lead,
        "close",
        {"summary": "公安机关已立案侦查，案件移交公安办理。"},
        selects={"outcome": "transferred_to_police"},
    )
    expect(lead.locator("#case-status")).to_have_attribute("data-status", "closed")
    take(
        lead,
        "write-off",
        {
            "summary": "公安机关已立案，涉案资金已冻结并启动清退。",
            "recovered_amount_yuan": "500000",
            "claims_handled": "60",
        },
        selects={"outcome": "transferred_to_police"},
    )
    expect(lead.locator("#case-status")).to_have_attribute("data-status", "written_off")
    expect(lead.locator("#timeline tr.event[data-type='written-off']")).to_have_count(1)
    shot(lead, "workspace-case-written-off")

    # The citizen follows the stages with the receipt code.
    phone.goto(f"{stack.url('intake')}/report/follow-up")

    def closed_on_receipt() -> bool:
        phone.goto(f"{stack.url('intake')}/report/follow-up")
        phone.fill("#receipt_code", receipt_code)
        phone.click("#look-up")
        return phone.locator("#receipt-status").get_attribute("data-status") == "closed"

    wait_until(closed_on_receipt, timeout=90, interval=1.0, what="the receipt showing the case closed")
    stages = phone.locator("#steps li.step").evaluate_all("els => els.map(e => e.dataset.stage)")
    assert stages[:2] == ["received", "under_review"] and "transferred" in stages and stages[-1] == "closed"
    assert "瑶海分局" not in phone.content() and name not in phone.content()
    shot(phone, "follow-up-phone")


def test_a_case_handed_from_one_district_to_another(browser: Browser, stack: Stack) -> None:
    clue = unique_shop()
    case_id = report(stack, clue)
    with reader(stack) as auditor:
        wait_for_case(auditor, case_id, last_seq=2)

    yaohai = officer(browser, stack, "district_lead_officer", YAOHAI, "瑶海区处非办")
    yaohai.goto(f"{stack.url('triage')}/workspace/cases/{case_id}")
    take(
        yaohai,
        "handoff",
        {"reason": "该主体实际经营地在寿县，由寿县协商办理。"},
        selects={"to_jurisdiction": SHOUXIAN},
    )
    expect(yaohai.locator("#case-handoff")).to_contain_text("寿县")

    shou = officer(browser, stack, "district_lead_officer", SHOUXIAN, "寿县处非办")
    expect(shou.locator(f"#inbox-handoffs li[data-case='{case_id}']")).to_have_count(1)
    shot(shou, "workspace-inbox-handoff")
    open_from_inbox(shou, "handoffs", case_id)
    take(shou, "handoff-accept", {"note": "同意接收，由寿县处非办办理。"})
    expect(shou.locator("#case-place")).to_contain_text("寿县")
    expect(shou.locator("#case-held-by")).to_contain_text("瑶海区")
    shot(shou, "workspace-case-handoff")

    # 瑶海区 keeps the trail, read only: nothing is offered to it any more.
    yaohai.goto(f"{stack.url('triage')}/workspace/cases/{case_id}")
    expect(yaohai.locator("#case-place")).to_contain_text("寿县")
    expect(yaohai.locator("#actions form")).to_have_count(0)
