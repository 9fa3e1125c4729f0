"""Regression tests for what the API fuzzing (test_api_fuzz.py) found: odd input is refused with a 4xx
and a reason, never a 500; every refusal's status is documented in the service's OpenAPI document; and
its body is the documented ProblemDetail."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from cluetrail.ids import new_receipt_code
from tests.harness import Stack, wait_until
from tests.integration.refusals import assert_refusal

pytestmark = pytest.mark.integration


def test_an_invalid_body_is_refused_with_the_documented_problem_shape(stack: Stack) -> None:
    """422 used to be documented as FastAPI's validation error (detail: a list) while the services send
    a reason (detail: text) and per-field errors."""
    token = stack.token("district_lead_officer", "340102", subject="refusals-lead")
    with stack.client("triage", token=token) as triage:
        answer = triage.post(f"/v1/cases/{uuid.uuid4()}/close", json={"recovered_amount_yuan": "many"})
    problem = assert_refusal(stack, "triage", "post", "/v1/cases/{case_id}/close", answer, 422)
    assert {"outcome", "summary", "recovered_amount_yuan"} <= {e["field"] for e in problem.errors}
    with stack.client("triage") as triage:
        document = triage.get("/openapi.json").json()
    assert "HTTPValidationError" not in str(document)


def test_a_body_that_is_not_text_is_refused_with_a_documented_400(stack: Stack) -> None:
    """FastAPI answers 400 when a JSON body is not even UTF-8; the operations did not document it."""
    with stack.client("reporting", token=stack.token("district_lead_officer", "340102")) as reporting:
        answer = reporting.post(
            "/v1/reports/submissions", content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
        )
    assert_refusal(stack, "reporting", "post", "/v1/reports/submissions", answer, 400)


def test_a_malformed_receipt_code_and_an_unknown_one_are_documented_refusals(stack: Stack) -> None:
    with stack.client("intake") as intake:
        malformed = intake.get("/v1/receipts/0")
        unknown = intake.get(f"/v1/receipts/{new_receipt_code()}")
    path = "/v1/receipts/{receipt_code}"
    assert "receipt code" in assert_refusal(stack, "intake", "get", path, malformed, 400).detail
    assert_refusal(stack, "intake", "get", path, unknown, 404)


def test_an_oversized_clue_is_a_documented_refusal(stack: Stack) -> None:
    with stack.client("intake") as intake:
        answer = intake.post(
            "/v1/clues", content=b"{" + b" " * 2_000_000 + b"}", headers={"Content-Type": "application/json"}
        )
    assert_refusal(stack, "intake", "post", "/v1/clues", answer, 413)


@pytest.mark.parametrize("period", ["0000-01", "9999-12"])
def test_a_period_outside_any_reporting_year_is_refused_not_a_server_error(stack: Stack, period: str) -> None:
    """Submitting month 0000-01 answered 500: the month's start is not a representable instant."""
    with stack.client("reporting", token=stack.token("district_lead_officer", "3704GX")) as reporting:
        submitted = reporting.post("/v1/reports/submissions", json={"period": period})
        table = reporting.get("/v1/reports/ledger", params={"period": period})
        recorded = reporting.get(f"/v1/reports/submissions/3704GX/{period}")
    for answer, method, path in (
        (submitted, "post", "/v1/reports/submissions"),
        (table, "get", "/v1/reports/{table}"),
        (recorded, "get", "/v1/reports/submissions/{jurisdiction}/{period}"),
    ):
        problem = assert_refusal(stack, "reporting", method, path, answer, 422)
        assert "outside the years" in problem.detail


def test_reporting_documents_its_refusals(stack: Stack) -> None:
    """An unknown case, an unknown table and a month not submitted answered undocumented 404s, a reader
    without a token an undocumented 401."""
    unknown = uuid.uuid4()
    with stack.client("reporting", token=stack.token("auditor", "340000")) as auditor:
        for path, url in (
            ("/v1/cases/{case_id}", f"/v1/cases/{unknown}"),
            ("/v1/cases/{case_id}/ledger", f"/v1/cases/{unknown}/ledger"),
            ("/v1/cases/{case_id}/history", f"/v1/cases/{unknown}/history"),
            ("/v1/reports/{table}", "/v1/reports/no-such-table"),
            ("/v1/reports/submissions/{jurisdiction}/{period}", "/v1/reports/submissions/3704GX/2001-01"),
        ):
            assert_refusal(stack, "reporting", "get", path, auditor.get(url), 404)
    with stack.client("reporting", token=stack.token("street_officer", "340102L01")) as officer:
        elsewhere = officer.get("/v1/cases", params={"jurisdiction": "640302"})
    assert_refusal(stack, "reporting", "get", "/v1/cases", elsewhere, 403)
    with stack.client("reporting") as anonymous:
        assert_refusal(stack, "reporting", "get", "/v1/cases", anonymous.get("/v1/cases"), 401)


def test_notify_documents_its_refusals(stack: Stack) -> None:
    """Every refusal of the delivery routes is documented: no token, an unknown delivery (to an auditor;
    a lead officer is answered as for a delivery elsewhere), an auditor resending, a wrong link token."""
    unknown = uuid.uuid4()
    auditor = stack.token("auditor", "340000", subject="refusals-auditor")
    lead = stack.token("district_lead_officer", "340102", subject="refusals-lead")
    with (
        stack.client("notify", token=auditor) as reader,
        stack.client("notify", token=lead) as officer,
        stack.client("notify") as anyone,
    ):
        answers = (
            ("get", "/v1/deliveries", anyone.get("/v1/deliveries"), 401),
            ("get", "/v1/notices", anyone.get("/v1/notices", params={"case_id": str(unknown)}), 401),
            ("get", "/v1/notices", reader.get("/v1/notices"), 422),
            ("get", "/v1/deliveries/{delivery_id}", reader.get(f"/v1/deliveries/{unknown}"), 404),
            ("get", "/v1/deliveries/{delivery_id}", officer.get(f"/v1/deliveries/{unknown}"), 403),
            (
                "post",
                "/v1/deliveries/{delivery_id}/resend",
                reader.post(f"/v1/deliveries/{unknown}/resend"),
                403,
            ),
            (
                "post",
                "/v1/deliveries/{delivery_id}/resend",
                officer.post(f"/v1/deliveries/{unknown}/resend"),
                403,
            ),
            ("post", "/v1/deliveries/resend", reader.post("/v1/deliveries/resend", json={}), 403),
            (
                "post",
                "/v1/deliveries/{delivery_id}/ack",
                anyone.post(f"/v1/deliveries/{unknown}/ack", json={"token": "x"}),
                404,
            ),
            (
                "get",
                "/v1/deliveries/{delivery_id}/ack",
                anyone.get(f"/v1/deliveries/{unknown}/ack?token=x"),
                404,
            ),
        )
    for method, path, answer, status in answers:
        assert_refusal(stack, "notify", method, path, answer, status)


def report_in_3704gx(stack: Stack, **changes: Any) -> httpx.Response:
    clue: dict[str, Any] = {
        "jurisdiction": "3704GXL01",
        "source": "grid_patrol",
        "subject": {"kind": "shop", "name": "兴仁理财工作室"},
        "description": "以理财为名向居民吸收资金。",
        "sector": "elderly_care",
        "reporter": {"name": "张三", "phone": "13800000000"},
    }
    clue.update(changes)
    with stack.client("intake") as intake:
        return intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": str(uuid.uuid4())})


def assessed_case(stack: Stack) -> str:
    """A new case in 兴仁街道, once triage has assessed it."""
    answer = report_in_3704gx(stack)
    assert answer.status_code == 202, answer.text
    case_id: str = answer.json()["case_id"]
    with stack.client("triage", token=stack.token("auditor", "340000")) as triage:
        wait_until(
            lambda: (
                (r := triage.get(f"/v1/cases/{case_id}")).status_code == 200
                and r.json()["status"] != "reported"
            ),
            what=f"case {case_id} assessed",
        )
    return case_id


def test_text_with_nul_is_refused_before_anything_is_recorded(stack: Stack) -> None:
    """A U+0000 in a command's text was accepted, then refused by reporting's PostgreSQL: the event and
    every later event of the case were dead-lettered there, and the ledger lost the case."""
    answer = report_in_3704gx(stack, description="吸收资金\u0000")
    problem = assert_refusal(stack, "intake", "post", "/v1/clues", answer, 422)
    assert "description" in problem.detail and "U+0000" in problem.detail
    case_id = assessed_case(stack)
    lead = stack.token("district_lead_officer", "3704GX", subject="refusals-lead")
    with stack.client("triage", token=lead) as triage:
        before = triage.get(f"/v1/cases/{case_id}").json()["last_seq"]
        measure = triage.post(
            f"/v1/cases/{case_id}/measures", json={"measure": "public_notice", "detail": "张贴\u0000公告"}
        )
        reporter = triage.get(f"/v1/cases/{case_id}/reporter", params={"purpose": "核查\u0000"})
        after = triage.get(f"/v1/cases/{case_id}").json()["last_seq"]
    assert_refusal(stack, "triage", "post", "/v1/cases/{case_id}/measures", measure, 422)
    assert_refusal(stack, "triage", "get", "/v1/cases/{case_id}/reporter", reporter, 422)
    assert after == before


def test_a_key_case_with_too_many_reasons_is_refused_with_the_rule(stack: Stack) -> None:
    """An officer's reasons are added to the case's; past the 20 the event holds, the flag answered 500."""
    case_id = assessed_case(stack)
    lead = stack.token("district_lead_officer", "3704GX", subject="refusals-lead")
    with stack.client("triage", token=lead) as triage:
        for batch in range(2):
            reasons = [f"reason_{batch}_{n}" for n in range(10)]
            flagged = triage.post(
                f"/v1/cases/{case_id}/key-case", json={"reasons": reasons, "supervising_leader": "区长"}
            )
            assert flagged.status_code == 202, flagged.text
        refused = triage.post(
            f"/v1/cases/{case_id}/key-case", json={"reasons": ["one_more"], "supervising_leader": "区长"}
        )
    problem = assert_refusal(stack, "triage", "post", "/v1/cases/{case_id}/key-case", refused, 409)
    assert problem.errors == [{"rule": "key-case-reasons-max"}]


def test_a_query_with_nul_is_refused_not_a_server_error(stack: Stack) -> None:
    """reporting's sector filter and notify's recipient_id went to PostgreSQL as text with U+0000: 500."""
    with stack.client("reporting", token=stack.token("auditor", "340000")) as reporting:
        ledger = reporting.get("/v1/cases?sector=elderly%00care")
        table = reporting.get("/v1/reports/ledger?sector=elderly%00care")
    with stack.client("notify") as notify:
        deliveries = notify.get("/v1/deliveries?recipient_id=yaohai%00")
    for service, path, answer in (
        ("reporting", "/v1/cases", ledger),
        ("reporting", "/v1/reports/{table}", table),
        ("notify", "/v1/deliveries", deliveries),
    ):
        problem = assert_refusal(stack, service, "get", path, answer, 422)
        assert problem.errors == [{"rule": "no-nul"}]
