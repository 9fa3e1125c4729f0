"""Server-rendered forms (``cluetrail.web``): a form read into the contract's JSON document, its refusals in
Chinese, and the signed double-submit CSRF token; and every rule triage refuses an officer by has its
Chinese words in the workspace (``services.triage.entrypoints.http.refusals``)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request

from cluetrail.demo import fake_credit_code
from cluetrail.web import (
    CSRF_COOKIE,
    CSRF_FIELD,
    Csrf,
    CsrfRefused,
    form_document,
    refused_fields,
    validate_form,
)
from contracts.api import ClueSubmission, DeterminationRequest
from services.triage.entrypoints.http.refusals import RULES

ROOT = Path(__file__).resolve().parents[2]


def request_with(cookie: str | None) -> Request:
    headers = [(b"cookie", f"{CSRF_COOKIE}={cookie}".encode())] if cookie else []
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers, "scheme": "http"})


def test_the_csrf_token_is_the_signature_of_this_browsers_nonce() -> None:
    csrf = Csrf("a-secret-of-the-deployment-at-least-32-bytes")
    issued = csrf.issue(request_with(None))
    assert issued.new_nonce is not None
    browser = request_with(issued.new_nonce)
    assert csrf.issue(browser).value == issued.value and csrf.issue(browser).new_nonce is None
    csrf.check(browser, FormData([(CSRF_FIELD, issued.value)]))
    other = csrf.issue(request_with(None))
    for refused_request, form in (
        (browser, FormData()),  # no token in the form
        (request_with(None), FormData([(CSRF_FIELD, issued.value)])),  # no nonce: another site's post
        (browser, FormData([(CSRF_FIELD, other.value)])),  # another browser's token
        (request_with(other.new_nonce), FormData([(CSRF_FIELD, issued.value)])),
    ):
        with pytest.raises(CsrfRefused):
            csrf.check(refused_request, form)
    # Another deployment's key signs differently: a token is not portable.
    with pytest.raises(CsrfRefused):
        Csrf("another-secret-of-another-deployment-32b").check(
            browser, FormData([(CSRF_FIELD, issued.value)])
        )


def test_a_form_is_the_json_document_the_api_takes() -> None:
    form = FormData(
        [
            ("jurisdiction", "340102L01001"),
            ("subject.kind", "shop"),
            ("subject.name", "华都康养服务中心"),
            ("subject.address", ""),
            ("description", "以预订床位为名收取押金。"),
            ("participants", "45"),
            ("estimated_amount_yuan", "40万"),
            ("behaviours", "promised_high_returns"),
            ("behaviours", ""),
            ("reporter.name", ""),
        ]
    )
    document = form_document(form, ClueSubmission)
    assert document == {
        "jurisdiction": "340102L01001",
        "subject": {"kind": "shop", "name": "华都康养服务中心"},
        "description": "以预订床位为名收取押金。",
        "participants": 45,
        "estimated_amount_yuan": "40万",
        "behaviours": ["promised_high_returns"],
    }
    with pytest.raises(ValidationError) as refused:
        validate_form(ClueSubmission, {**document, "source": "public_app"})
    assert refused_fields(refused.value, document) == {"estimated_amount_yuan": "应为整数。"}


def test_a_refused_credit_code_says_which_check_character_it_needs() -> None:
    code = fake_credit_code(random.Random(7))
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    document = {"subject": {"kind": "company", "name": "某公司", "credit_code": wrong}}
    with pytest.raises(ValidationError) as refused:
        validate_form(
            ClueSubmission, {**document, "jurisdiction": "340102", "source": "public_app", "description": "x"}
        )
    reasons = refused_fields(refused.value, document)
    assert reasons == {
        "subject.credit_code": f"统一社会信用代码校验位不正确：第18位应为 {code[17]}，请核对。"
    }


def test_a_missing_fact_is_named_beside_its_field() -> None:
    document = form_document(FormData([("determination", "general_violation")]), DeterminationRequest)
    with pytest.raises(ValidationError) as refused:
        validate_form(DeterminationRequest, document)
    assert refused_fields(refused.value, document) == {"basis": "此项为必填项。"}


def test_every_rule_triage_refuses_an_officer_by_has_chinese_words() -> None:
    sources = [*(ROOT / "services" / "triage").rglob("*.py"), ROOT / "cluetrail" / "auth.py"]
    raised = {
        rule for path in sources for rule in re.findall(r'rule="([a-z0-9-]+)"', path.read_text("utf-8"))
    }
    assert raised and raised - set(RULES) == set()
