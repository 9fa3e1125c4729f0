"""The public reporting page (举报) through the running intake service, as a browser posts it: a form
without this browser's CSRF token is refused; a care home reported with a mistyped credit code gets the
reason in Chinese beside the field and nothing is stored; with the code corrected and a storefront photo
attached, the clue is accepted, its photo kept under its SHA-256 and named by it in the clue's event, and
the receipt code shown once; the same form posted again is the same clue; the follow-up page finds it by
its receipt code, and says in Chinese what is wrong with a code that is not one.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid

import asyncpg
import httpx
import pytest

from cluetrail.settings import CommonSettings
from cluetrail.web import CSRF_COOKIE
from services.intake.settings import IntakeSettings
from tests.cases import LONGGANG_HUADU, credit_code, wait_for_log
from tests.harness import Stack

pytestmark = pytest.mark.integration

# A 1x1 PNG: the storefront photo.
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a2fd1f0b0000000049454e44ae426082"
)


def form_fields(html: str) -> dict[str, str]:
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    form_id = re.search(r'name="form_id" value="([0-9a-f]+)"', html)
    assert token is not None
    return {"csrf_token": token.group(1), **({"form_id": form_id.group(1)} if form_id else {})}


def care_home(code: str) -> dict[str, str]:
    return {
        "subject.kind": "shop",
        "subject.name": f"华都颐养之家（{uuid.uuid4().hex[:8]}）",
        "subject.credit_code": code,
        "subject.address": "华都路20号",
        "jurisdiction": LONGGANG_HUADU,
        "description": "以预订养老床位为名向老人收取押金，承诺每年返利12%。",
        "sector": "elderly_care",
        "estimated_amount_yuan": "800000",
        "participants": "60",
        "identity": "named",
        "reporter.name": "举报人甲",
        "reporter.phone": "000-0001",
    }


def test_a_citizen_reports_on_the_public_page_and_follows_the_clue(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    with httpx.Client(base_url=stack.url("intake"), timeout=30) as browser:
        page = browser.get("/report")
        assert page.status_code == 200 and "我要举报" in page.text
        assert browser.cookies.get(CSRF_COOKIE)
        fields = form_fields(page.text)

        good = credit_code()
        wrong = good[:17] + ("0" if good[17] != "0" else "1")
        clue = care_home(good)

        # Another site's form: this browser's nonce, no signed token.
        forged = browser.post("/report", data={**clue, "form_id": fields["form_id"]})
        assert forged.status_code == 403 and "页面已失效" in forged.text

        refused = browser.post("/report", data={**clue, **fields, "subject.credit_code": wrong})
        assert refused.status_code == 422
        reason = re.search(r'id="error-subject-credit_code">([^<]+)<', refused.text)
        assert reason is not None and f"第18位应为 {good[17]}" in reason.group(1)
        assert "receipt-code" not in refused.text

        photo = {"evidence": ("门头照片.png", PHOTO, "image/png")}
        accepted = browser.post("/report", data={**clue, **fields}, files=photo)
        assert accepted.status_code == 200, accepted.text
        assert accepted.headers["cache-control"] == "no-store"
        code = re.search(r'id="receipt-code">([0-9A-Z-]+)<', accepted.text)
        assert code is not None
        assert "请立即抄写或截图保存回执码" in accepted.text

        again = browser.post("/report", data={**clue, **fields}, files=photo)
        assert f'id="receipt-code">{code.group(1)}<' in again.text

        lookup = {**form_fields(browser.get("/report/follow-up").text), "receipt_code": code.group(1)}
        followed = browser.post("/report/follow-up", data=lookup)
        assert followed.status_code == 200 and 'id="status-name"' in followed.text
        assert "线索已受理" in followed.text
        assert "举报人甲" not in followed.text

        mistyped = browser.post("/report/follow-up", data={**fields, "receipt_code": "ABC"})
        assert mistyped.status_code == 400 and "回执码格式不正确" in mistyped.text

    # The clue's event names the photo by its digest; the file itself never enters the log.
    case_id = _case_of(stack, code.group(1))
    reported = wait_for_log(stack_settings, case_id, 1)[0]
    assert reported["payload"]["evidence"] == [
        {
            "sha256": hashlib.sha256(PHOTO).hexdigest(),
            "media_type": "image/png",
            "filename": "门头照片.png",
            "size_bytes": len(PHOTO),
        }
    ]
    assert reported["payload"]["source"] == "public_app"
    assert reported["payload"]["reporter"]["alg"] == "AES-256-GCM"


def test_a_file_that_is_no_photo_or_document_is_refused_beside_the_field(stack: Stack) -> None:
    with httpx.Client(base_url=stack.url("intake"), timeout=30) as browser:
        fields = form_fields(browser.get("/report").text)
        script = {"evidence": ("合同.png", b"#!/bin/sh\necho not a picture\n", "image/png")}
        refused = browser.post("/report", data={**care_home(credit_code()), **fields}, files=script)
    assert refused.status_code == 422
    assert (
        'id="error-evidence"' in refused.text and "只接受 JPG、PNG、WEBP、GIF 图片或 PDF 文件" in refused.text
    )


def _case_of(stack: Stack, code: str) -> str:
    """The case id behind a receipt code, as intake's database keeps it (the page never shows it)."""

    async def read() -> str:
        conn = await asyncpg.connect(stack.settings().database_for("intake"))
        try:
            return str(
                await conn.fetchval("SELECT case_id FROM accepted_clues WHERE receipt_code = $1", code)
            )
        finally:
            await conn.close()

    return asyncio.run(read())


def test_a_phone_photo_is_taken_and_a_report_larger_than_the_form_takes_is_refused_in_chinese(
    stack: Stack,
) -> None:
    """The form has a body limit of its own (its evidence files and the clue), above the API's 256 KiB: a
    photograph of a few megabytes is kept; a body beyond the form's limit is refused before it is read."""
    settings = IntakeSettings()
    with httpx.Client(base_url=stack.url("intake"), timeout=30) as browser:
        fields = form_fields(browser.get("/report").text)
        photo = PHOTO + bytes(3 * 1024 * 1024)
        accepted = browser.post(
            "/report",
            data={**care_home(credit_code()), **fields},
            files={"evidence": ("手机照片.png", photo, "image/png")},
        )
        assert accepted.status_code == 200 and 'id="receipt-code"' in accepted.text, accepted.text[:500]
        fields = form_fields(browser.get("/report").text)
        huge = PHOTO + bytes(settings.report_form_max_bytes)
        refused = browser.post(
            "/report",
            data={**care_home(credit_code()), **fields},
            files={"evidence": ("大照片.png", huge, "image/png")},
        )
    assert refused.status_code == 413
    assert "提交的内容过大" in refused.text
