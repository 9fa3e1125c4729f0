"""What notify refuses and who reads what, through the running services.

The acknowledgement link is public (no login), so whatever arrives there — a token that is not ASCII, a body
that is not UTF-8 — is refused with a 4xx and a problem body, never a 500. A bulk resend names what it
takes (a recipient, a case or both), has no fields but its own and never sends a delivered notice again.
A case of 瑶海区 offered to 利通区 (协商办理): 利通区's lead officer reads the offer in the delivery log,
although the case is still 瑶海区's. An acknowledgement link expires (30 days): an expired one answers 410
with a page saying so, and a resend of the notice brings a link that works.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from services.notify.domain.signing import ack_expiry, ack_token
from tests.cases import LITONG, accepted_clue, key_case_clue, report, unique_shop, wait_for_case
from tests.harness import Stack, WebhookRecorder, wait_until
from tests.integration.deliveries import SECRETS, deliveries, lead_officer
from tests.integration.refusals import assert_refusal

pytestmark = pytest.mark.integration


def a_delivered_notice(stack: Stack) -> dict[str, Any]:
    """The key-case escalation of a new case of 大店社区, delivered to 瑶海区处非办."""
    case_id = report(stack, key_case_clue())
    rows: list[dict[str, Any]] = wait_until(
        lambda: [
            r
            for r in deliveries(stack, case_id)
            if r["recipient_id"] == "yaohai-lead-office" and r["status"] == "delivered"
        ],
        timeout=90,
        what="the key-case escalation delivered",
    )
    return rows[0]


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    problem: dict[str, Any] = answer.json()
    assert problem["detail"] and isinstance(problem["errors"], list)
    return problem


def test_the_acknowledgement_link_refuses_odd_tokens_and_bodies_with_a_problem(stack: Stack) -> None:
    delivery_id = a_delivered_notice(stack)["delivery_id"]
    path = f"/v1/deliveries/{delivery_id}/ack"
    with httpx.Client(base_url=stack.url("notify"), timeout=30) as anyone:
        assert_problem(anyone.get(path, params={"token": "确认"}), 403)
        assert_problem(anyone.post(path, json={"token": "确认收到"}), 403)
        assert_problem(anyone.post(path, data={"token": "é"}), 403)
        # A JSON body that is not UTF-8 is not readable JSON: 400, as in every service.
        not_utf8 = anyone.post(path, content=b"\xff\xfe{", headers={"Content-Type": "application/json"})
        assert_problem(not_utf8, 400)
        in_json = anyone.post(
            path, content=b'{"token": "\xff"}', headers={"Content-Type": "application/json"}
        )
        assert_problem(in_json, 400)
        form = anyone.post(
            path, content=b"token=%FF%FE", headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert "UTF-8" in assert_problem(form, 422)["detail"]
        assert_problem(anyone.post(path, json={"token": "x", "also": 1}), 422)


def test_a_body_larger_than_notify_reads_is_refused_with_413(stack: Stack) -> None:
    """notify's bodies are a token or a selection of a few hundred bytes; it reads at most 16 KiB."""
    delivery_id = a_delivered_notice(stack)["delivery_id"]
    padding = "x" * (17 * 1024)
    with httpx.Client(base_url=stack.url("notify"), timeout=30) as anyone:
        ack = anyone.post(f"/v1/deliveries/{delivery_id}/ack", json={"token": "x", "pad": padding})
        form = anyone.post(f"/v1/deliveries/{delivery_id}/ack", data={"token": padding})
    with stack.client("notify", token=lead_officer(stack)) as notify:
        bulk = notify.post("/v1/deliveries/resend", json={"recipient_id": "yaohai-police", "pad": padding})
    for answer in (ack, form, bulk):
        assert assert_problem(answer, 413)["errors"] == [{"rule": "max_body_bytes"}]
    with httpx.Client(base_url=stack.url("notify"), timeout=30) as anyone:
        small = anyone.post(f"/v1/deliveries/{delivery_id}/ack", json={"token": "x" * 100})
    assert_problem(small, 403)  # a body within the limit is read as before


def test_a_bulk_resend_names_its_selection_knows_its_fields_and_leaves_delivered_notices_alone(
    stack: Stack,
) -> None:
    delivered = a_delivered_notice(stack)
    with stack.client("notify", token=lead_officer(stack)) as notify:
        everything = notify.post("/v1/deliveries/resend", json={})
        assert assert_problem(everything, 422)["errors"] == [{"rule": "resend-needs-a-selection"}]
        only_status = notify.post("/v1/deliveries/resend", json={"status": "skipped"})
        assert assert_problem(only_status, 422)["errors"] == [{"rule": "resend-needs-a-selection"}]
        unknown = notify.post(
            "/v1/deliveries/resend", json={"case_id": delivered["case_id"], "recipients": ["x"]}
        )
        assert "recipients" in assert_problem(unknown, 422)["detail"]
        nul = notify.post("/v1/deliveries/resend", json={"recipient_id": "yaohai-police\u0000"})
        assert "recipient_id" in assert_problem(nul, 422)["detail"]
        again = notify.post(
            "/v1/deliveries/resend", json={"case_id": delivered["case_id"], "status": "delivered"}
        )
        assert assert_problem(again, 422)["errors"] == [{"rule": "resend-delivered-one-by-one"}]
        assert_problem(notify.get("/v1/deliveries", params={"recipient_id": "Yaohai Police"}), 422)
    unchanged = next(
        r for r in deliveries(stack, delivered["case_id"]) if r["delivery_id"] == delivered["delivery_id"]
    )
    assert unchanged["resent_at"] is None and unchanged["status"] == "delivered"


def test_the_district_offered_a_handoff_reads_the_offer_in_the_delivery_log(stack: Stack) -> None:
    case_id = accepted_clue(stack, unique_shop())["case_id"]
    yaohai = stack.token("district_lead_officer", "340102", subject="lead-yaohai-handoff")
    litong = stack.token("district_lead_officer", LITONG, subject="lead-litong-handoff")
    offer = {"to_jurisdiction": LITONG, "reason": "实际经营地与参与人均在利通区。"}
    with stack.client("triage", token=yaohai) as triage:
        wait_for_case(triage, case_id, last_seq=2)
        assert triage.post(f"/v1/cases/{case_id}/handoff", json=offer).status_code == 202
    offered = wait_until(
        lambda: [
            r
            for r in deliveries(stack, case_id)
            if r["event_type"] == "handoff-requested" and r["recipient_id"] == "litong-lead-office"
        ],
        timeout=90,
        what="the handoff offer routed to 利通区处非办",
    )
    with stack.client("notify", token=litong) as notify:
        seen = notify.get("/v1/deliveries", params={"case_id": case_id})
        assert seen.status_code == 200, seen.text
        assert [r["delivery_id"] for r in seen.json()] == [offered[0]["delivery_id"]]
        assert notify.get(f"/v1/deliveries/{offered[0]['delivery_id']}").status_code == 200
        yaohai_rows = [r for r in deliveries(stack, case_id) if r["recipient_id"] != "litong-lead-office"]
        for row in yaohai_rows:  # the case itself stays 瑶海区's: nothing else of it is shown
            assert notify.get(f"/v1/deliveries/{row['delivery_id']}").status_code == 403


def test_an_expired_acknowledgement_link_answers_410_and_a_resend_brings_a_new_one(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    delivered = a_delivered_notice(stack)
    delivery_id = delivered["delivery_id"]
    sent = next(p.json() for p in list(recorder.received) if p.json().get("delivery_id") == delivery_id)
    link = httpx.URL(sent["acknowledge_url"])
    expires_at = ack_expiry(link.params["token"])
    assert expires_at is not None and 29 * 86_400 < expires_at - time.time() <= 30 * 86_400
    expired = ack_token(SECRETS["yaohai-lead-office"], delivery_id, int(time.time()) - 60)
    with httpx.Client(base_url=stack.url("notify"), timeout=30) as anyone:
        page = anyone.get(link.path, params={"token": expired}, headers={"Accept": "text/html"})
        assert page.status_code == 410 and page.headers["content-type"].startswith("text/html")
        assert "确认链接已于" in page.text and "过期" in page.text
        gone = anyone.post(link.path, json={"token": expired})
        problem = assert_refusal(stack, "notify", "post", "/v1/deliveries/{delivery_id}/ack", gone, 410)
        assert problem.errors == [{"rule": "acknowledge-before-expiry"}]
        forged = expired[:-1] + ("1" if expired.endswith("0") else "0")
        wrong = anyone.get(link.path, params={"token": forged}, headers={"Accept": "text/html"})
        assert wrong.status_code == 403 and "确认链接无效" in wrong.text
    with stack.client("notify", token=lead_officer(stack)) as notify:
        assert notify.post(f"/v1/deliveries/{delivery_id}/resend").status_code == 202
    again = wait_until(
        lambda: (
            (
                posts := [
                    p.json() for p in list(recorder.received) if p.json().get("delivery_id") == delivery_id
                ]
            )
            and len(posts) > 1
            and posts
        ),
        timeout=60,
        what="the notice sent again",
    )
    renewed = httpx.URL(again[-1]["acknowledge_url"])
    assert (ack_expiry(renewed.params["token"]) or 0) >= expires_at
    with httpx.Client(base_url=stack.url("notify"), timeout=30) as anyone:
        confirmed = anyone.post(renewed.path, json={"token": renewed.params["token"]})
    assert confirmed.status_code == 200, confirmed.text
