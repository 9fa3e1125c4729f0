"""Intake against the real broker and database: a clue in 瑶海区龙岗街道华都社区 is on Kafka when intake
answers 202; retries never make a second case; bad clues are refused with reasons and nothing reaches the
log; the reporter follows the case by its receipt code."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from cluetrail.crypto import FieldSealer
from cluetrail.ids import receipt_digest
from cluetrail.settings import CommonSettings
from contracts.envelope import GENESIS_HASH, compute_hash
from contracts.events import SealedValue
from tests.cases import (
    LONGGANG_HUADU,
    care_company_clue,
    clue_reports,
    mentioning,
)
from tests.harness import Stack, wait_until

pytestmark = pytest.mark.integration


def reported_case(settings: CommonSettings, case_id: str) -> list[dict[str, Any]]:
    return [doc for _, doc in clue_reports(settings) if doc.get("case_id") == case_id]


@pytest.fixture
def intake(stack: Stack) -> Iterator[httpx.Client]:
    with stack.client("intake") as client:
        yield client


def test_a_clue_is_on_kafka_when_intake_accepts_it(
    intake: httpx.Client, stack_settings: CommonSettings
) -> None:
    response = intake.post("/v1/clues", json=care_company_clue())
    assert response.status_code == 202, response.text
    accepted = response.json()

    # No waiting: 202 is only given once Kafka acknowledged the event (acks=all).
    case_id = accepted["case_id"]
    records = [(key, doc) for key, doc in clue_reports(stack_settings) if doc["case_id"] == case_id]
    assert len(records) == 1
    key, event = records[0]
    assert key == accepted["case_id"].encode()
    assert event["event_id"] == accepted["event_id"]
    assert (event["type"], event["seq"], event["prev_hash"]) == ("clue-reported", 1, GENESIS_HASH)
    assert event["hash"] == compute_hash(event)
    assert event["jurisdiction"] == LONGGANG_HUADU
    assert event["actor"] == {"kind": "reporter", "id": "anonymous", "role": None}
    assert event["payload"]["receipt_digest"] == receipt_digest(accepted["receipt_code"])
    assert accepted["receipt_code"] not in json.dumps(event)
    assert event["traceparent"]


def test_a_named_reporter_never_appears_in_the_log(
    intake: httpx.Client, stack_settings: CommonSettings
) -> None:
    reporter = {"name": "举报人甲", "phone": "138 0000 0000", "contact": "华都社区网格员"}
    response = intake.post("/v1/clues", json=care_company_clue(reporter=reporter))
    assert response.status_code == 202, response.text
    case_id = response.json()["case_id"]

    (event,) = reported_case(stack_settings, case_id)
    assert event["actor"]["id"] == "named-reporter"
    assert "举报人甲" not in json.dumps(event, ensure_ascii=False)
    assert "138 0000 0000" not in json.dumps(event, ensure_ascii=False)
    sealer = FieldSealer.from_settings(stack_settings.reporter_keys, stack_settings.reporter_key_id)
    assert sealer.open(SealedValue.model_validate(event["payload"]["reporter"]), case_id) == reporter


def test_a_grid_worker_files_a_patrol_clue_as_themselves_within_their_own_community(
    stack: Stack, stack_settings: CommonSettings
) -> None:
    grid_worker = stack.token("grid_worker", LONGGANG_HUADU, subject="grid-huadu-03")
    with stack.client("intake", token=grid_worker) as patrol:
        filed = patrol.post("/v1/clues", json=care_company_clue())
        assert filed.status_code == 202, filed.text
        # 大店社区 is outside 华都社区: refused before anything is stored, and nothing says why beyond that
        outside = patrol.post("/v1/clues", json=care_company_clue(jurisdiction="340102L01003"))
        assert outside.status_code == 403 and outside.json()["errors"] == [{"rule": "jurisdiction-subtree"}]
    auditor = stack.token("auditor", "340000", subject="audit-01")
    with stack.client("intake", token=auditor) as reads_only:
        refused = reads_only.post("/v1/clues", json=care_company_clue())
        assert refused.status_code == 403 and refused.json()["errors"] == [{"rule": "auditor-read-only"}]
    with stack.client("intake", token="not-a-token") as forged:
        assert forged.post("/v1/clues", json=care_company_clue()).status_code == 401

    (event,) = reported_case(stack_settings, filed.json()["case_id"])
    assert event["actor"] == {"kind": "officer", "id": "grid-huadu-03", "role": "grid_worker"}


def test_a_retry_with_the_same_idempotency_key_is_the_same_case(
    intake: httpx.Client, stack_settings: CommonSettings
) -> None:
    clue = care_company_clue()
    key = f"retry-{uuid.uuid4()}"
    first = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": key})
    # The same clue laid out differently is the same request.
    again = intake.post(
        "/v1/clues",
        content=json.dumps(clue, ensure_ascii=False, indent=2).encode(),
        headers={"Idempotency-Key": key, "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 202, (first.text, again.text)
    assert again.json() == first.json()

    accepted = first.json()
    digest = receipt_digest(accepted["receipt_code"])
    log = clue_reports(stack_settings)
    assert len([d for _, d in log if d["case_id"] == accepted["case_id"]]) == 1
    assert len([d for _, d in log if d["payload"]["receipt_digest"] == digest]) == 1
    assert len(mentioning(stack_settings, clue["subject"]["name"])) == 1


def test_concurrent_duplicates_make_one_case(stack: Stack, stack_settings: CommonSettings) -> None:
    clue = care_company_clue()
    key = f"concurrent-{uuid.uuid4()}"

    def submit(_: int) -> httpx.Response:
        with stack.client("intake") as client:
            return client.post("/v1/clues", json=clue, headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(submit, range(8)))
    assert {r.status_code for r in responses} == {202}, [r.text for r in responses]
    assert len({(r.json()["case_id"], r.json()["receipt_code"]) for r in responses}) == 1
    events = mentioning(stack_settings, clue["subject"]["name"])
    assert {e["case_id"] for e in events} == {responses[0].json()["case_id"]}
    # The retries waited for the first request's publish instead of republishing the event.
    assert len(events) == 1


def test_a_key_reused_for_a_different_clue_is_refused(
    intake: httpx.Client, stack_settings: CommonSettings
) -> None:
    key = f"reused-{uuid.uuid4()}"
    first = intake.post("/v1/clues", json=care_company_clue(), headers={"Idempotency-Key": key})
    assert first.status_code == 202, first.text
    other = care_company_clue()
    refused = intake.post("/v1/clues", json=other, headers={"Idempotency-Key": key})
    assert refused.status_code == 422
    assert "Idempotency-Key was already used for a different clue" in refused.json()["detail"]
    assert mentioning(stack_settings, other["subject"]["name"]) == []


def _with_bad_check_character(clue: dict[str, Any]) -> dict[str, Any]:
    code = clue["subject"]["credit_code"]
    wrong = "0" if code[-1] != "0" else "1"
    return {**clue, "subject": {**clue["subject"], "credit_code": code[:-1] + wrong}}


INVALID = {
    "bad USCC check character": (_with_bad_check_character, 422, "subject.credit_code", "check character"),
    "negative amount": (
        lambda c: {**c, "estimated_amount_yuan": -1},
        422,
        "estimated_amount_yuan",
        "greater than or equal to 0",
    ),
    "unknown jurisdiction": (
        lambda c: {**c, "jurisdiction": "340199"},
        422,
        "jurisdiction",
        "unknown jurisdiction code 340199",
    ),
    "unknown region involved": (
        lambda c: {**c, "regions_involved": ["640302", "ZZ9999"]},
        422,
        "regions_involved.1",
        "unknown jurisdiction code ZZ9999",
    ),
    "unknown sector": (
        lambda c: {**c, "sector": "fortune_telling"},
        422,
        "sector",
        "unknown sector code fortune_telling",
    ),
    "unknown behaviour": (
        lambda c: {**c, "behaviours": ["consumption_rebate", "time_travel"]},
        422,
        "behaviours.1",
        "unknown behaviour code time_travel",
    ),
    "oversized description": (
        lambda c: {**c, "description": "以养老床位为名吸收资金。" * 500},
        422,
        "description",
        "at most 5000 characters",
    ),
    "oversized body": (
        lambda c: {**c, "description": "以养老床位为名吸收资金。" * 8_000},  # about 290 KB of UTF-8
        413,
        None,
        "exceeds the limit of 262144 bytes",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_an_invalid_clue_is_refused_with_reasons_and_nothing_is_published(
    case: str, intake: httpx.Client, stack_settings: CommonSettings
) -> None:
    change, status, field, reason = INVALID[case]
    clue = change(care_company_clue())
    response = intake.post("/v1/clues", json=clue, headers={"Idempotency-Key": f"invalid-{uuid.uuid4()}"})
    assert response.status_code == status, response.text
    body = response.json()
    assert reason in body["detail"]
    if field is not None:
        assert any(e["field"] == field and reason in e["reason"] for e in body["errors"]), body
    # Intake publishes before it answers, so anything it had published would be in the log by now.
    assert mentioning(stack_settings, clue["subject"]["name"]) == []


def test_an_oversized_body_without_a_declared_length_is_refused(
    intake: httpx.Client, stack_settings: CommonSettings
) -> None:
    clue = care_company_clue()
    payload = json.dumps({**clue, "description": "吸收资金" * 40_000}, ensure_ascii=False).encode()

    def chunks() -> Iterator[bytes]:  # streamed: no Content-Length, only the actual size tells
        for start in range(0, len(payload), 16_384):
            yield payload[start : start + 16_384]

    response = intake.post("/v1/clues", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert "exceeds the limit" in response.json()["detail"]
    assert mentioning(stack_settings, clue["subject"]["name"]) == []


def test_the_reporter_follows_the_case_by_receipt_code(intake: httpx.Client) -> None:
    response = intake.post("/v1/clues", json=care_company_clue())
    assert response.status_code == 202, response.text
    code = response.json()["receipt_code"]

    seen = intake.get(f"/v1/receipts/{code}")
    assert seen.status_code == 200, seen.text
    # Triage may have graded it already by the time the reporter looks: then it is under review.
    assert seen.json()["status"] in ("received", "under_review")
    assert set(seen.json()) == {
        "receipt_code",
        "status",
        "reward_granted",
        "updated_at",
        "history",
        "messages",
        "merged_case_status",
    }
    assert seen.json()["history"][0]["stage"] == "received"

    # Read out over the phone: lower case, no dashes, O for 0 — still the same case.
    typed = code.lower().replace("-", " ").replace("0", "o")
    assert intake.get(f"/v1/receipts/{typed}").json()["receipt_code"] == code

    # Triage assesses every new clue; the reporter then sees the case under review.
    wait_until(
        lambda: intake.get(f"/v1/receipts/{code}").json()["status"] == "under_review",
        timeout=60,
        what="receipt status under_review after triage assessed the case",
    )


def test_receipt_codes_that_are_malformed_or_unknown_are_told_apart(intake: httpx.Client) -> None:
    malformed = intake.get("/v1/receipts/ABCD-1234")
    assert malformed.status_code == 400
    assert "not a receipt code" in malformed.json()["detail"]
    # A well-formed code (valid check symbol) that no case has.
    unknown = next(
        c
        for c in (f"0000-0000-000{ch}" for ch in "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        if intake.get(f"/v1/receipts/{c}").status_code != 400
    )
    answer = intake.get(f"/v1/receipts/{unknown}")
    assert answer.status_code == 404
    assert answer.json()["detail"] == "no case has this receipt code"
