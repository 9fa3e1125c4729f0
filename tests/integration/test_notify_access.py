"""Who may read and resend notify's deliveries, through the running services.

A wealth-management key case in 大店社区 is transferred to the 瑶海 police. The police read what was sent
to them and nothing else of the case; 龙岗街道's officer reads the case's deliveries; an officer of 利通区
reads none of it; the auditor reads everything and resends nothing; 瑶海's lead officer resends the police
notices one by one and the dead mail in bulk, and 利通区's cannot. A notice that never arrived cannot be
acknowledged.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from services.notify.domain.signing import ack_token
from tests.cases import key_case_clue, report, transfer_to_police
from tests.harness import ROOT, Stack, WebhookRecorder, wait_until
from tests.integration.deliveries import FINANCE_MAIL, SECRETS, auditor, deliveries, lead_officer, posts_for

pytestmark = pytest.mark.integration


def listed(stack: Stack, token: str, **params: str) -> list[dict[str, Any]]:
    with stack.client("notify", token=token) as notify:
        answer = notify.get("/v1/deliveries", params=params)
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()
    return rows


def test_officers_read_the_deliveries_of_their_area_the_police_their_own_and_only_a_lead_officer_resends(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    case_id = report(stack, key_case_clue())
    wait_until(
        lambda: (rows := deliveries(stack, case_id)) and all(r["status"] == "delivered" for r in rows),
        timeout=90,
        what="the escalation and key-case flag delivered",
    )
    stack.mail.refused.add(FINANCE_MAIL)
    try:
        seq = transfer_to_police(stack, case_id)
        rows = wait_until(
            lambda: (
                (
                    found := [
                        r for r in deliveries(stack, case_id) if r["seq"] == seq and r["origin"] == "event"
                    ]
                )
                and {r["status"] for r in found} == {"delivered", "dead"}
                and found
            ),
            timeout=90,
            what="the transfer delivered to the police, the bureau's mail dead",
        )
    finally:
        stack.mail.refused.discard(FINANCE_MAIL)
    everything = deliveries(stack, case_id)

    police = stack.token("police", "340102", subject="police-yaohai-1")
    seen = listed(stack, police, case_id=case_id)
    assert {r["recipient_id"] for r in seen} == {"yaohai-police"} and len(seen) == 2  # webhook and sms
    street = stack.token("street_officer", "340102L01", subject="street-longgang-1")
    assert {r["delivery_id"] for r in listed(stack, street, case_id=case_id)} == {
        r["delivery_id"] for r in everything
    }
    elsewhere = stack.token("district_lead_officer", "640302", subject="officer-litong-1")
    assert listed(stack, elsewhere, case_id=case_id) == []
    lead_notice = next(r for r in everything if r["recipient_id"] == "yaohai-lead-office")
    with stack.client("notify", token=police) as notify:
        assert notify.get(f"/v1/deliveries/{lead_notice['delivery_id']}").status_code == 403
        assert notify.get(f"/v1/deliveries/{seen[0]['delivery_id']}").status_code == 200
    with stack.client("notify", token=elsewhere) as notify:
        refused = notify.post(f"/v1/deliveries/{seen[0]['delivery_id']}/resend")
        assert refused.status_code == 403 and refused.json()["errors"] == [{"rule": "jurisdiction-subtree"}]
    with stack.client("notify", token=auditor(stack)) as notify:
        refused = notify.post(f"/v1/deliveries/{seen[0]['delivery_id']}/resend")
        assert refused.status_code == 403 and refused.json()["errors"] == [{"rule": "auditor-read-only"}]
    with stack.client("notify", token=police) as notify:
        assert notify.post("/v1/deliveries/resend", json={"case_id": case_id}).status_code == 403

    # A notice that never arrived is not acknowledged, even with its own token.
    dead = next(r for r in rows if r["status"] == "dead")
    token = ack_token(SECRETS[dead["recipient_id"]], dead["delivery_id"], int(time.time()) + 3600)
    with stack.client("notify") as anyone:
        refused = anyone.post(f"/v1/deliveries/{dead['delivery_id']}/ack", json={"token": token})
        assert refused.status_code == 409 and refused.json()["errors"] == [
            {"rule": "acknowledge-delivered-only"}
        ]
        assert (
            anyone.get(f"/v1/deliveries/{dead['delivery_id']}/ack", params={"token": token}).status_code
            == 409
        )

    # 瑶海's lead officer sends the police their notices of the case again, one by one (a delivered
    # notice is never resent in bulk): same delivery ids.
    police_posts = [p for p in posts_for(recorder, case_id) if p.path == "/yaohai-police"]
    with stack.client("notify", token=lead_officer(stack)) as notify:
        for row in seen:
            resent = notify.post(f"/v1/deliveries/{row['delivery_id']}/resend")
            assert resent.status_code == 202, resent.text
            assert resent.json()["previous_status"] == "delivered"
    wait_until(
        lambda: all(
            r["status"] == "delivered" and r["resent_at"] for r in listed(stack, police, case_id=case_id)
        ),
        timeout=60,
        what="the police notices sent again",
    )
    again = [p for p in posts_for(recorder, case_id) if p.path == "/yaohai-police"]
    assert len(again) == len(police_posts) + 1
    assert again[-1].headers["X-Cluetrail-Delivery"] == police_posts[-1].headers["X-Cluetrail-Delivery"]

    # The command line resends the dead mail the same way, and names what it queued.
    command = subprocess.run(
        [
            sys.executable,
            "-m",
            "cluetrail.cli",
            "notify",
            "resend",
            "--recipient",
            "yaohai-finance-bureau",
            "--case-id",
            case_id,
            "--url",
            stack.url("notify"),
        ],
        env={**stack.env, "CLUETRAIL_TOKEN": lead_officer(stack)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert command.returncode == 0, command.stdout + command.stderr
    assert "1 deliveries queued again" in command.stdout
    wait_until(
        lambda: (
            next(r for r in deliveries(stack, case_id) if r["delivery_id"] == dead["delivery_id"])["status"]
            == "delivered"
        ),
        timeout=60,
        what="the bureau's mail delivered once its address works",
    )
