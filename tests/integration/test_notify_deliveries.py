"""Notify against the real services: a key case in 瑶海区龙岗街道大店社区 reaches the district lead office
once, signed; offices whose systems are down for many retries (a closed port, a 503) get every notice
exactly once and in case order when they come back; a lead officer resends, in bulk too."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.vocabulary import EscalationTarget
from tests.cases import (
    key_case_clue,
    report,
)
from tests.harness import Stack, WebhookRecorder, free_port, wait_until
from tests.integration.deliveries import (
    assert_signed_for,
    auditor,
    deliveries,
    lead_officer,
    posts_for,
)
from tests.integration.notify_log import CaseLog, now, office, own_notify, signed_with

pytestmark = pytest.mark.integration


def all_delivered(stack: Stack, case_id: str, *recipients: str) -> list[dict[str, Any]] | None:
    rows = deliveries(stack, case_id)
    if {r["recipient_id"] for r in rows} >= set(recipients) and all(r["status"] == "delivered" for r in rows):
        return rows
    return None


def test_a_key_case_in_dadian_community_reaches_the_yaohai_lead_office_once_and_signed(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    case_id = report(stack, key_case_clue())

    rows = wait_until(
        lambda: all_delivered(stack, case_id, "yaohai-lead-office"), timeout=90, what="the lead office notice"
    )
    escalation = next(r for r in rows if r["recipient_id"] == "yaohai-lead-office")
    assert escalation["event_type"] == "escalated" and escalation["attempts"] >= 1
    assert escalation["recipient_name"] == "瑶海区处非办" and escalation["delivered_at"] is not None

    posts = [
        p
        for p in posts_for(recorder, case_id)
        if p.path == "/yaohai-lead-office" and p.json()["event_type"] == "escalated"
    ]
    assert len(posts) == 1
    notice = posts[0].json()
    assert notice["event_type"] == "escalated" and notice["seq"] == escalation["seq"]
    assert (
        notice["escalation"]["target"] == "lead_office"
        and notice["escalation"]["target_jurisdiction"] == "340102"
    )
    assert "合肥市瑶海区龙岗街道大店社区" in notice["text"] and case_id in notice["text"]
    # the reason triage's rule gave, worded from the case's grade, not from the English in the event
    assert "事由：列为重点案件（涉案金额亿元以上）" in notice["text"] and "key case" not in notice["text"]
    headers = {k.lower(): v for k, v in posts[0].headers.items()}
    assert headers["x-cluetrail-delivery"] == escalation["delivery_id"] == notice["delivery_id"]
    assert_signed_for(posts[0], "yaohai-lead-office")
    # The reporter is protected: nothing of the reporter travels in a notice.
    assert "网格员甲" not in posts[0].body.decode() and "reporter" not in notice
    # A lead-office escalation is not a police transfer.
    assert not [p for p in posts_for(recorder, case_id) if p.path == "/yaohai-police"]


def test_a_cross_region_clue_notifies_shou_county_and_the_district(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    case_id = report(stack, key_case_clue(regions_involved=["340422"], flags=["cross_region"]))

    rows = wait_until(
        lambda: all_delivered(stack, case_id, "yaohai-lead-office", "shouxian-lead-office"),
        timeout=90,
        what="notices to 瑶海 and 寿县",
    )
    shou = [p for p in posts_for(recorder, case_id) if p.path == "/shouxian-lead-office"]
    assert len(shou) == 1
    assert shou[0].json()["escalation"]["target"] == "other_region"
    assert "寿县" in shou[0].json()["text"]
    assert_signed_for(shou[0], "shouxian-lead-office")
    assert not [p for p in posts_for(recorder, case_id) if p.path == "/litong-lead-office"]
    escalations = [r for r in rows if r["event_type"] == "escalated"]
    assert {r["recipient_id"] for r in escalations} == {"yaohai-lead-office", "shouxian-lead-office"}


ROUTED = ("escalated", "key-case-flagged", "police-accepted", "closed")


def test_after_an_outage_every_notice_arrives_exactly_once_in_case_order(tmp_path: Path) -> None:
    """瑶海's lead office system refuses connections (its port is closed) and the police system answers
    503 through many more attempts than a delivery used to be allowed; when both come back, each gets
    every notice of three key cases exactly once, each case in order."""
    closed_port = free_port()
    police = WebhookRecorder()
    police.failing = True
    police.start()
    recipients = [
        office(
            "yaohai-lead-office",
            "瑶海区处非办",
            "lead_office",
            "340102",
            f"http://127.0.0.1:{closed_port}/lead",
            *ROUTED,
        ),
        office("yaohai-police", "合肥市公安局瑶海分局", "police", "340102", police.url("/police"), *ROUTED),
    ]
    lead = WebhookRecorder(port=closed_port)
    try:
        with own_notify(tmp_path, recipients) as own:
            cases = [CaseLog() for _ in range(3)]
            for log in cases:
                log.clue()
                log.assessed(key_case=True)
                log.escalated(EscalationTarget.LEAD_OFFICE)
                log.key_case_flagged()
                log.escalated(EscalationTarget.POLICE)
                log.police_accepted(now())
                log.closed()
                own.publish(*log.events)

            def down_for_long() -> list[dict[str, Any]] | None:
                rows = [r for log in cases for r in own.deliveries(log.case_id)]
                heads = [r for r in rows if r["waiting_for"] is None]
                if len(rows) != 3 * 5 * 2 or len(heads) != 3 * 2:
                    return None
                return rows if all(r["attempts"] >= 12 for r in heads) else None

            rows = wait_until(down_for_long, timeout=180, what="every case's first notice retried 12 times")
            # Nothing died; each later notice waits for the one before it, never tried meanwhile.
            assert {r["status"] for r in rows} == {"pending"}
            assert all(r["attempts"] == 0 for r in rows if r["waiting_for"] is not None)
            errors = {r["recipient_id"]: r["last_error"] for r in rows if r["waiting_for"] is None}
            assert "Connect" in errors["yaohai-lead-office"] and errors["yaohai-police"] == "HTTP 503"

            lead.start()
            police.failing = False
            for log in cases:
                wait_until(
                    lambda log=log: all(r["status"] == "delivered" for r in own.deliveries(log.case_id)),
                    timeout=120,
                    what=f"case {log.case_id} delivered after the outage",
                )
            for receiver, path in ((lead, "/lead"), (police, "/police")):
                posts = [p for p in list(receiver.received) if p.path == path]
                ids = [p.headers["X-Cluetrail-Delivery"] for p in posts]
                assert len(ids) == len(set(ids)) == 3 * 5, path  # every notice, exactly once
                for log in cases:
                    seqs = [p.json()["seq"] for p in posts if p.json()["case_id"] == str(log.case_id)]
                    assert seqs == [3, 4, 5, 6, 7], (path, log.case_id)  # in case order
                for post in posts:
                    assert signed_with(own.secrets[post.json()["recipient_id"]], post)
            head = next(r for r in rows if r["recipient_id"] == "yaohai-police" and r["waiting_for"] is None)
            with own.client() as notify:
                detail = notify.get(f"/v1/deliveries/{head['delivery_id']}").json()
            assert detail["attempts"] == len(detail["attempt_log"]) > 12
            assert detail["attempt_log"][-1]["status_code"] == 200
    finally:
        police.stop()
        if hasattr(lead, "_server"):
            lead.stop()


def test_a_delivered_notice_can_be_resent_and_unknown_ones_are_refused(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    case_id = report(stack, key_case_clue())
    rows = wait_until(
        lambda: all_delivered(stack, case_id, "yaohai-lead-office"), timeout=90, what="delivery"
    )
    delivery_id = rows[0]["delivery_id"]

    with stack.client("notify", token=lead_officer(stack)) as notify:
        resent = notify.post(f"/v1/deliveries/{delivery_id}/resend")
        assert resent.status_code == 202, resent.text
        assert resent.json()["previous_status"] == "delivered"

        def sent_twice() -> bool:
            same = [p for p in posts_for(recorder, case_id) if p.json()["delivery_id"] == delivery_id]
            return len(same) == 2

        wait_until(sent_twice, timeout=60, what="the resent notice")
        wait_until(
            lambda: notify.get(f"/v1/deliveries/{delivery_id}").json()["status"] == "delivered", timeout=30
        )

        # An unknown delivery answers a lead officer like one outside their district.
        unknown = notify.post(f"/v1/deliveries/{uuid.uuid4()}/resend")
        assert unknown.status_code == 403 and "jurisdiction" in unknown.json()["detail"]
        assert notify.post("/v1/deliveries/not-an-id/resend").status_code == 422
        bad_status = notify.get("/v1/deliveries", params={"case_id": case_id, "status": "lost"})
        assert bad_status.status_code == 422 and "status" in bad_status.json()["detail"]


def test_closing_a_case_tells_the_lead_office_after_the_escalation(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    case_id = report(stack, key_case_clue())
    wait_until(lambda: all_delivered(stack, case_id, "yaohai-lead-office"), timeout=90, what="the escalation")

    lead = stack.token("district_lead_officer", "340102", subject="officer-yaohai-1")
    with stack.client("triage", token=lead) as triage:
        closed = triage.post(
            f"/v1/cases/{case_id}/close", json={"outcome": "funds_returned", "summary": "资金已清退完毕"}
        )
    assert closed.status_code == 202, closed.text

    def closure_delivered() -> list[dict[str, Any]] | None:
        rows = deliveries(stack, case_id)
        done = [r for r in rows if r["event_type"] == "closed" and r["status"] == "delivered"]
        return rows if done else None

    rows = wait_until(closure_delivered, timeout=90, what="the closure notice")
    lead = [
        p.json()
        for p in posts_for(recorder, case_id)
        if p.path == "/yaohai-lead-office" and p.json()["event_type"] in ("escalated", "closed")
    ]
    assert [n["event_type"] for n in lead] == ["escalated", "closed"]
    assert lead[0]["seq"] < lead[1]["seq"]
    assert lead[1]["closure"]["outcome"] == "funds_returned" and "资金已清退" in lead[1]["text"]
    assert [
        r["event_type"]
        for r in rows
        if r["recipient_id"] == "yaohai-lead-office" and r["event_type"] in ("escalated", "closed")
    ] == ["escalated", "closed"]


def test_the_delivery_log_of_an_unknown_case_is_empty(stack: Stack) -> None:
    assert deliveries(stack, str(uuid.uuid4())) == []
    with stack.client("notify", token=auditor(stack)) as notify:
        assert notify.get("/v1/deliveries", params={"case_id": "12"}).status_code == 422
    with httpx.Client(base_url=stack.url("notify")) as anonymous:
        assert anonymous.get("/v1/deliveries").status_code == 401
