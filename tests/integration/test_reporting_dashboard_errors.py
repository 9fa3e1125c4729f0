"""The dashboard's error pages: each answers with the status the refusal carries (404, 403, 422, 401, 405) and
says what went wrong in Chinese, as an HTML page of the dashboard, never as the API's JSON in English. The
API itself keeps answering JSON.

A street officer of 商家镇 (3703WCL02) asks for things the dashboard cannot give."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.harness import Stack

pytestmark = pytest.mark.integration
SHANGJIA = "3703WCL02"
MESSAGE = re.compile(r'<p class="error" id="error-message">(.*?)</p>', re.S)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def chinese_page(response: httpx.Response, status: int, *echoed: str) -> str:
    """The page's message, once the page is the dashboard's own HTML with ``status`` and its message is
    Chinese (no English words apart from what the request itself carried, ``echoed``)."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html"), response.headers["content-type"]
    assert '<html lang="zh-CN">' in response.text
    found = MESSAGE.search(response.text) or MESSAGE.search(
        response.text.replace("login-error", "error-message")
    )
    assert found, response.text[:500]
    message = found.group(1)
    assert CHINESE.search(message), message
    rest = message
    for text in echoed:
        rest = rest.replace(text, "")
    assert not re.search(r"[A-Za-z]{3,}", rest), message
    return message


@pytest.fixture(scope="module")
def officer(stack: Stack) -> httpx.Client:
    token = stack.token("street_officer", SHANGJIA, subject="商家镇处非办")
    return httpx.Client(
        base_url=stack.url("reporting"),
        cookies={"cluetrail_token": token},
        timeout=30,
        follow_redirects=False,
    )


def test_refusals_of_the_ledger_page_carry_their_status(officer: httpx.Client) -> None:
    assert "辖区" in chinese_page(officer.get("/dashboard", params={"jurisdiction": "340102"}), 403)
    assert "999999" in chinese_page(officer.get("/dashboard", params={"jurisdiction": "999999"}), 422)
    assert "2026-13" in chinese_page(officer.get("/dashboard", params={"period": "2026-13"}), 422)
    assert "统计期" in chinese_page(officer.get("/dashboard", params={"period": "last"}), 422, "last")
    assert "行业领域" in chinese_page(officer.get("/dashboard", params={"sector": "casino"}), 422, "casino")
    assert "风险等级" in chinese_page(officer.get("/dashboard", params={"grade": "huge"}), 422, "huge")
    assert "办理状态" in chinese_page(officer.get("/dashboard", params={"status": "lost"}), 422, "lost")
    # What FastAPI itself refuses, before the page runs: page numbers out of range.
    assert "page" not in chinese_page(officer.get("/dashboard", params={"page": "0"}), 422)
    chinese_page(officer.get("/dashboard", params={"page": str(10**18)}), 422)
    chinese_page(officer.get("/dashboard", params={"page": "first"}), 422)
    # A NUL in the address is refused before routing, in Chinese too.
    chinese_page(officer.get("/dashboard?sector=%00"), 422)


def test_missing_pages_and_cases_are_404_and_wrong_methods_405(officer: httpx.Client) -> None:
    missing = uuid.uuid4()
    assert str(missing) in chinese_page(officer.get(f"/dashboard/cases/{missing}"), 404, str(missing))
    chinese_page(officer.get("/dashboard/cases/not-a-case"), 404)
    chinese_page(officer.get("/dashboard/nowhere"), 404)
    chinese_page(officer.delete("/dashboard"), 405)


def test_a_bad_token_at_login_is_401_in_chinese(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url("reporting"), timeout=30) as anonymous:
        refused = anonymous.post("/dashboard/login", data={"token": "not-a-token"})
        assert "令牌无效" in chinese_page(refused, 401)
        assert 'id="token"' in refused.text  # the login form again, to try once more
        expired = stack.token("street_officer", SHANGJIA)
        header, _, signature = expired.rpartition(".")
        assert "令牌无效" in chinese_page(
            anonymous.post("/dashboard/login", data={"token": f"{header}.{signature[::-1]}"}), 401
        )
        # Not logged in: the dashboard sends the reader to the login page, as before.
        assert anonymous.get("/dashboard", follow_redirects=False).status_code == 303


def test_the_api_still_answers_json(stack: Stack) -> None:
    with stack.client("reporting", token=stack.token("street_officer", SHANGJIA)) as api:
        missing = api.get("/v1/nowhere")
        assert missing.status_code == 404 and missing.json()["detail"] == "Not Found"
        refused = api.get("/v1/reports/work", params={"jurisdiction": "340102"})
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("application/json")
        invalid = api.get("/v1/cases", params={"limit": "0"})
        assert invalid.status_code == 422 and "invalid request" in invalid.json()["detail"]
        assert api.get("/v1/cases?sector=%00").json()["errors"] == [{"rule": "no-nul"}]
