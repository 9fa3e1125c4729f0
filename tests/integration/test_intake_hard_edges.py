"""Intake at its edges, through the running service: a reporter's clue that is not UTF-8, not JSON, or
breaks the contract (an amount of ``true`` or ``"1000000"``, a control character in a name) is refused with
the documented 400 or 422 naming the field, nothing reaches the log, and neither the answer nor intake's
own log ever holds the reporter's name or phone."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from cluetrail.settings import CommonSettings
from tests.cases import care_company_clue, mentioning
from tests.harness import Stack
from tests.integration.refusals import assert_refusal

pytestmark = pytest.mark.integration


def reporter() -> dict[str, str]:
    """A reporter no other test names: the name and phone are searched for in the log afterwards."""
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    return {"name": f"卢秀梅{digits[:4]}", "phone": f"139 {digits[:4]} {digits[4:]}"}


def forms_of(text: str) -> list[bytes]:
    """Every way ``text`` could show up in a log: as written, JSON-escaped, and as Python shows bytes."""
    escaped = json.dumps(text)[1:-1].encode()
    return [text.encode(), escaped, repr(text.encode())[2:-1].encode(), text.encode("gbk")]


def test_no_answer_and_no_log_line_holds_the_reporter(stack: Stack, stack_settings: CommonSettings) -> None:
    who = reporter()
    clue = care_company_clue(reporter=who)
    text = json.dumps(clue, ensure_ascii=False)
    log_before = stack.log_file("intake").stat().st_size
    json_type = {"Content-Type": "application/json"}
    attempts: list[tuple[str, dict[str, Any], int]] = [
        ("not UTF-8", {"content": text.encode() + b"\xff", "headers": json_type}, 400),
        ("UTF-16", {"content": text.encode("utf-16"), "headers": json_type}, 400),
        (
            "GBK, declared",
            {"content": text.encode("gbk"), "headers": {"Content-Type": "application/json; charset=gbk"}},
            400,
        ),
        ("GBK as text", {"content": text.encode("gbk"), "headers": {"Content-Type": "text/plain"}}, 400),
        ("cut short", {"content": text[:-10].encode(), "headers": json_type}, 400),
        ("amount true", {"json": {**clue, "estimated_amount_yuan": True}}, 422),
        ("amount as text", {"json": {**clue, "estimated_amount_yuan": "1000000"}}, 422),
        ("control character", {"json": {**clue, "reporter": {**who, "name": who["name"] + "\u0001"}}}, 422),
        ("bad phone", {"json": {**clue, "reporter": {**who, "phone": who["phone"] + "#"}}}, 422),
        ("unknown field", {"json": {**clue, "reporter": {**who, "email": "x@example.cn"}}}, 422),
        ("too large", {"json": {**clue, "description": "吸收资金" * 30_000}}, 413),
    ]
    with stack.client("intake") as intake:
        for what, request, status in attempts:
            headers = {"Idempotency-Key": str(uuid.uuid4()), **request.pop("headers", {})}
            answer = intake.post("/v1/clues", headers=headers, **request)
            assert answer.status_code == status, (what, answer.text)
            for secret in (who["name"], who["phone"]):
                assert all(form not in answer.content for form in forms_of(secret)), (what, answer.text)
    assert mentioning(stack_settings, clue["subject"]["name"]) == []
    written = stack.log_file("intake").read_bytes()[log_before:]
    for secret in (who["name"], who["phone"], who["phone"].replace(" ", "")):
        for form in forms_of(secret):
            assert form not in written, (secret, written.decode(errors="replace")[-3000:])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"estimated_amount_yuan": True}, "estimated_amount_yuan"),
        ({"estimated_amount_yuan": "1000000"}, "estimated_amount_yuan"),
        ({"participants": "45"}, "participants"),
        ({"observed_at": 1_772_328_600}, "observed_at"),
        ({"subject": {"kind": "shop", "name": "华都\u0001康养"}}, "subject.name"),
        (
            {"subject": {"kind": "shop", "name": "华都康养", "address": "华都路\u001b[2J18号"}},
            "subject.address",
        ),
        ({"description": "以预订养老床位为名\u0008\u0008吸收资金"}, "description"),
    ],
)
def test_a_clue_is_held_to_its_schema_naming_the_field(
    stack: Stack, stack_settings: CommonSettings, change: dict[str, Any], field: str
) -> None:
    clue = care_company_clue(**change)
    with stack.client("intake") as intake:
        answer = intake.post("/v1/clues", json=clue)
    problem = assert_refusal(stack, "intake", "post", "/v1/clues", answer, 422)
    assert [e["field"] for e in problem.errors] == [field]
    assert mentioning(stack_settings, clue["subject"]["name"]) == []


def test_free_text_keeps_its_tabs_and_line_breaks(stack: Stack) -> None:
    clue = care_company_clue(
        description="以预订养老床位为名吸收资金：\n\t一、承诺年化15%；\r\n\t二、发展下线。"
    )
    with stack.client("intake") as intake:
        answer = intake.post("/v1/clues", json=clue)
    assert answer.status_code == 202, answer.text


def test_triage_refuses_an_undecodable_body_the_same_way(stack: Stack) -> None:
    """The shell answers every service's bodies alike: UTF-16 was read by FastAPI's json.loads."""
    token = stack.token("district_lead_officer", "340102", subject="edges-lead")
    body = json.dumps({"outcome": "rectified", "summary": "已整改。"}, ensure_ascii=False)
    with stack.client("triage", token=token) as triage:
        path = f"/v1/cases/{uuid.uuid4()}/close"
        utf16 = triage.post(path, content=body.encode("utf-16"), headers={"Content-Type": "application/json"})
        broken = triage.post(path, content=body[:-3].encode(), headers={"Content-Type": "application/json"})
        too_large = triage.post(path, json={"outcome": "rectified", "summary": "已" * 600_000})
    for answer, status in ((utf16, 400), (broken, 400), (too_large, 413)):
        assert_refusal(stack, "triage", "post", "/v1/cases/{case_id}/close", answer, status)
