"""Notify's channels against the real services and real receivers: a case in 瑶海区龙岗街道大店社区 about a
wealth-management company transferred to the police reaches the police webhook once, signed, the police
duty phone through the SMS gateway, signed with the gateway's secret, and the finance bureau by mail."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from services.notify.settings import NotifySettings
from tests.cases import (
    key_case_clue,
    report,
    transfer_to_police,
)
from tests.harness import Stack, WebhookRecorder, wait_until
from tests.integration.deliveries import (
    FINANCE_MAIL,
    SECRETS,
    assert_signed_for,
    deliveries,
    posts_for,
)
from tests.integration.notify_log import signed_with

pytestmark = pytest.mark.integration

GATEWAY_SECRET = NotifySettings().sms_gateway_secret
POLICE_PHONE = "000-0000-0001"


def delivered(stack: Stack, case_id: str, seq: int, *wanted: tuple[str, str]) -> list[dict[str, Any]] | None:
    rows = [r for r in deliveries(stack, case_id) if r["seq"] == seq]
    done = {(r["recipient_id"], r["channel"]) for r in rows if r["status"] == "delivered"}
    return rows if done >= set(wanted) else None


def test_a_police_transfer_reaches_the_police_webhook_once_signed_and_by_sms_and_the_finance_bureau_by_mail(
    stack: Stack, recorder: WebhookRecorder
) -> None:
    case_id = report(stack, key_case_clue(reporter={"name": "举报人乙", "phone": "000-0000-0099"}))
    wait_until(
        lambda: [r for r in deliveries(stack, case_id) if r["status"] == "delivered"],
        timeout=90,
        what="the automatic escalation delivered first",
    )
    seq = transfer_to_police(stack, case_id)

    rows = wait_until(
        lambda: delivered(
            stack,
            case_id,
            seq,
            ("yaohai-police", "webhook"),
            ("yaohai-police", "sms"),
            ("yaohai-finance-bureau", "email"),
        ),
        timeout=90,
        what="the police transfer on every channel",
    )
    assert Counter((r["recipient_id"], r["channel"]) for r in rows) == Counter(
        {
            ("yaohai-police", "webhook"): 1,
            ("yaohai-police", "sms"): 1,
            ("yaohai-finance-bureau", "email"): 1,
            ("anhui-reporters", "receipt"): 1,  # the reporter learns of the transfer on the receipt
        }
    )

    police = [p for p in posts_for(recorder, case_id) if p.path == "/yaohai-police"]
    assert len(police) == 1
    assert_signed_for(police[0], "yaohai-police")
    notice = police[0].json()
    assert notice["seq"] == seq and notice["escalation"]["target"] == "police"
    assert notice["text"].startswith("【案件上报】") and "公安机关（移送公安）" in notice["text"]

    sms = [r for r in list(recorder.received) if r.path == "/sms-gateway" and case_id in r.json()["text"]]
    assert len(sms) == 1
    assert signed_with(GATEWAY_SECRET, sms[0])
    assert not any(signed_with(secret, sms[0]) for secret in SECRETS.values())
    assert set(sms[0].json()) == {"to", "text"} and sms[0].json()["to"] == POLICE_PHONE

    mails = wait_until(
        lambda: [
            m
            for m in stack.mail.to(FINANCE_MAIL)
            if case_id in m.get_content() and m["Subject"].startswith("【案件上报】")
        ],
        timeout=30,
        what="the mail to the finance bureau",
    )
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"].startswith("【案件上报】") and "合肥市瑶海区龙岗街道大店社区" in mail.get_content()
    assert mail["X-Cluetrail-Delivery"] == next(r["delivery_id"] for r in rows if r["channel"] == "email")

    # The reporter is protected on every channel.
    texts = (
        police[0].body.decode(),
        sms[0].body.decode(),
        mail["Subject"],
        mail.get_content(),
        json.dumps(rows),
    )
    for text in texts:
        assert "举报人乙" not in text and "000-0000-0099" not in text
