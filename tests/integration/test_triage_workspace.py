"""The officer's workspace through the running triage service, as a browser posts its forms: a form without
this browser's CSRF token is refused and nothing is recorded; a street officer's page of a named reporter's
care-home case shows nothing of the reporter, and opening the identity is refused in Chinese, while the
district lead office opens it with a purpose and the reading goes on the case's chain; a command the case
refuses comes back beside its form with the reason in Chinese (a closing as transferred to the police of a
case never transferred; the lead office's escalation, refused before it is filled in; a determination
without its basis).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from cluetrail.auth import Principal, Role, issue_token
from contracts import labels
from tests.cases import (
    LONGGANG_STREET,
    YAOHAI,
    case_view,
    key_case_clue,
    reader,
    report,
    unique_shop,
    wait_for_case,
)
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration
REPORTER = {"name": "举报人乙", "phone": "000-0002"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert found is not None
    return found.group(1)


@contextmanager
def signed_in(stack: Stack, role: str, jurisdiction: str, subject: str) -> Iterator[httpx.Client]:
    """A browser signed in to the workspace as the officer."""
    with httpx.Client(base_url=stack.url("triage"), timeout=30) as browser:
        yield _sign_in(browser, stack, role, jurisdiction, subject)


def _sign_in(browser: httpx.Client, stack: Stack, role: str, jurisdiction: str, subject: str) -> httpx.Client:
    token = csrf_of(browser.get("/workspace/login").text)
    answer = browser.post(
        "/workspace/login", data={"csrf_token": token, "token": stack.token(role, jurisdiction, subject)}
    )
    assert answer.status_code == 303, answer.text
    return browser


def graded_case(stack: Stack) -> str:
    case_id = report(stack, unique_shop(reporter=REPORTER))
    with reader(stack) as auditor:
        wait_for_case(auditor, case_id, last_seq=2)
    return case_id


def test_a_form_without_this_browsers_token_is_refused(stack: Stack) -> None:
    case_id = graded_case(stack)
    with signed_in(stack, "street_officer", LONGGANG_STREET, "officer-longgang-ws") as browser:
        page = browser.get(f"/workspace/cases/{case_id}")
        assert page.status_code == 200 and 'id="form-determination"' in page.text
        form = {"determination": "general_violation", "basis": "现场核查确认。"}
        forged = browser.post(f"/workspace/cases/{case_id}/determination", data=form)
        assert forged.status_code == 403 and "页面已失效或来源不明" in forged.text
        wrong = browser.post(
            f"/workspace/cases/{case_id}/determination", data={**form, "csrf_token": "0" * 64}
        )
        assert wrong.status_code == 403
    with reader(stack) as auditor:
        assert case_view(auditor, case_id)["last_seq"] == 2  # type: ignore[index]
    with httpx.Client(base_url=stack.url("triage"), timeout=30) as stranger:
        login = stranger.post("/workspace/login", data={"token": stack.token("auditor", "340000")})
        assert login.status_code == 403 and "cluetrail_workspace" not in login.headers.get("set-cookie", "")


def test_no_reporter_data_for_a_role_not_entitled_to_it(stack: Stack) -> None:
    case_id = graded_case(stack)
    with signed_in(stack, "street_officer", LONGGANG_STREET, "officer-longgang-ws") as street:
        page = street.get(f"/workspace/cases/{case_id}").text
        for secret in (REPORTER["name"], REPORTER["phone"], "named-reporter", "实名", "form-reporter"):
            assert secret not in page, secret
        refused = street.post(
            f"/workspace/cases/{case_id}/reporter", data={"csrf_token": csrf_of(page), "purpose": "核实"}
        )
        assert refused.status_code == 403 and "您无权查阅该案件的举报人信息" in refused.text
        assert REPORTER["name"] not in refused.text
    with signed_in(stack, "district_lead_officer", YAOHAI, "lead-yaohai-ws") as lead:
        page = lead.get(f"/workspace/cases/{case_id}").text
        assert 'id="form-reporter"' in page and REPORTER["name"] not in page
        shown = lead.post(
            f"/workspace/cases/{case_id}/reporter",
            data={"csrf_token": csrf_of(page), "purpose": "核实举报内容"},
        )
        assert shown.status_code == 200 and REPORTER["name"] in shown.text
        assert shown.headers["cache-control"] == "no-store"
        timeline = lead.get(f"/workspace/cases/{case_id}").text
        assert 'data-type="reporter-identity-viewed"' in timeline


def test_a_refused_command_says_why_in_chinese_beside_its_form(stack: Stack) -> None:
    case_id = graded_case(stack)
    with signed_in(stack, "street_officer", LONGGANG_STREET, "officer-longgang-ws") as street:
        page = street.get(f"/workspace/cases/{case_id}").text
        token = csrf_of(page)
        missing = street.post(
            f"/workspace/cases/{case_id}/determination",
            data={"csrf_token": token, "determination": "general_violation"},
        )
        assert missing.status_code == 422
        assert re.search(r'id="error-determination-basis">此项为必填项。<', missing.text)
        closing = {
            "csrf_token": token,
            "outcome": "transferred_to_police",
            "summary": "已办结。",
            "recovered_amount_yuan": "0",
        }
        refused = street.post(f"/workspace/cases/{case_id}/close", data=closing)
        assert refused.status_code == 409
        assert re.search(
            r'id="refusal-close">案件从未移送公安机关，不能以“已移送公安”作为办理结果。<', refused.text
        )
    with signed_in(stack, "district_lead_officer", YAOHAI, "lead-yaohai-ws") as lead:
        page = lead.get(f"/workspace/cases/{case_id}").text
        assert re.search(r'id="unavailable-escalation">区处非办是逐级上报的最高一级', page)
        assert 'id="form-escalation"' not in page
        assert 'id="form-transfer"' in page
    with reader(stack) as auditor:
        assert case_view(auditor, case_id)["last_seq"] == 2  # type: ignore[index]


def test_the_inbox_lists_notices_awaiting_acknowledgement_from_notify(stack: Stack) -> None:
    """A key case escalated to the lead office is delivered to it and waits for its acknowledgement: the lead
    officer's inbox lists it, read from notify with the officer's own token; a token not valid at notify
    is told so instead."""
    case_id = report(stack, key_case_clue())

    def listed() -> str | None:
        with signed_in(stack, "district_lead_officer", YAOHAI, "lead-yaohai-ws") as browser:
            page = browser.get("/workspace")
        assert page.status_code == 200
        section = page.text.partition('id="inbox-unacknowledged"')[2]
        return section if f'data-case="{case_id}"' in section else None

    section = wait_until(listed, timeout=60, what="the escalation's notice awaiting acknowledgement")
    assert labels.event_kind("escalated") in section.partition(f'data-case="{case_id}"')[2]
    triage_only = issue_token(
        stack.settings(),
        Principal(subject="lead-yaohai-ws", role=Role.DISTRICT_LEAD_OFFICER, jurisdiction=YAOHAI),
        audience=("triage",),
    )
    with httpx.Client(base_url=stack.url("triage"), timeout=30) as browser:
        csrf = csrf_of(browser.get("/workspace/login").text)
        assert (
            browser.post("/workspace/login", data={"csrf_token": csrf, "token": triage_only}).status_code
            == 303
        )
        page = browser.get("/workspace")
    assert "不能查阅通知服务" in page.text.partition('id="inbox-unacknowledged"')[2]
