"""Escalations nobody acknowledges, through the running notify on real escalated events.

瑶海区's escalations go to the police and to the district lead office, who must acknowledge them. With an
acknowledgement timeout of a few seconds: an ordinary case's unacknowledged escalations give each office
a reminder and go no higher; a key case's transfer to the police, ignored by everyone, climbs from the
police to 瑶海区处非办 and on to 合肥市处非办, each level reminded in turn, until there is no level above.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.vocabulary import EscalationTarget
from tests.harness import WebhookRecorder, wait_until
from tests.integration.notify_log import CaseLog, office, own_notify

pytestmark = pytest.mark.integration


def test_unacknowledged_escalations_are_reminded_and_a_key_case_climbs_level_by_level(tmp_path: Path) -> None:
    receiver = WebhookRecorder()
    recipients = [
        office(
            "yaohai-police",
            "合肥市公安局瑶海分局",
            "police",
            "340102",
            receiver.url("/yaohai-police"),
            {"event": "escalated", "targets": ["police"]},
            "unacknowledged",
        ),
        office(
            "yaohai-lead-office",
            "瑶海区处非办",
            "lead_office",
            "340102",
            receiver.url("/yaohai-lead-office"),
            {"event": "escalated", "targets": ["lead_office"]},
            "unacknowledged",
        ),
        office(
            "hefei-lead-office",
            "合肥市处非办",
            "lead_office",
            "340100",
            receiver.url("/hefei"),
            "unacknowledged",
        ),
    ]
    with own_notify(
        tmp_path,
        recipients,
        receiver,
        CLUETRAIL_NOTIFY_ACK_TIMEOUT_HOURS="0.0005",  # 1.8 seconds
        CLUETRAIL_NOTIFY_SCHEDULER_POLL_SECONDS="0.3",
    ) as own:
        ordinary = CaseLog()
        ordinary.clue(subject="某某投资咨询工作室", amount=800_000)
        ordinary.assessed(key_case=False)
        ordinary.escalated(EscalationTarget.POLICE)
        ordinary.escalated(EscalationTarget.LEAD_OFFICE)
        key = CaseLog()
        key.clue()
        key.assessed(key_case=True)
        key.escalated(EscalationTarget.POLICE)
        own.publish(*ordinary.events, *key.events)

        def climbed_to_the_top() -> list[dict[str, Any]] | None:
            notices = own.notices(key.case_id)
            top = [n for n in notices if n["facts"].get("original_recipient_id") == "hefei-lead-office"]
            return notices if top else None

        key_notices = wait_until(
            climbed_to_the_top, timeout=120, what="the key case's notice at 合肥市处非办"
        )
        assert [
            (n["kind"], n["facts"]["original_recipient_id"], n["facts"]["escalated_to"]) for n in key_notices
        ] == [
            ("unacknowledged", "yaohai-police", "yaohai-lead-office"),
            ("unacknowledged", "yaohai-lead-office", "hefei-lead-office"),
            ("unacknowledged", "hefei-lead-office", None),  # no level above: a reminder only
        ]
        assert [n["recipients"] for n in key_notices] == [
            ["yaohai-police", "yaohai-lead-office"],
            ["yaohai-lead-office", "hefei-lead-office"],
            ["hefei-lead-office"],
        ]
        # The escalation itself was delivered first, to the police, who had to acknowledge it.
        key_rows = wait_until(
            lambda: (
                (rows := own.deliveries(key.case_id))
                and all(r["status"] == "delivered" for r in rows)
                and rows
            ),
            timeout=60,
            what="the key case's notices delivered",
        )
        transfer = next(r for r in key_rows if r["event_type"] == "escalated")
        assert transfer["recipient_id"] == "yaohai-police" and transfer["needs_ack"]
        assert transfer["ack_escalated_at"] is not None
        told_up = [r for r in key_rows if r["origin"] == "notice" and r["needs_ack"]]
        assert [r["recipient_id"] for r in told_up] == ["yaohai-lead-office", "hefei-lead-office"]

        texts = {
            (p.path, p.json()["seq"]): p.json()["text"]
            for p in list(receiver.received)
            if p.json().get("case_id") == str(key.case_id) and p.json()["event_type"] == "unacknowledged"
        }
        assert texts[("/yaohai-police", 1)].startswith("【未确认提醒】合肥市公安局瑶海分局")
        assert texts[("/yaohai-lead-office", 1)].startswith("【未确认升级】合肥市公安局瑶海分局尚未确认")
        assert texts[("/hefei", 2)].startswith("【未确认升级】瑶海区处非办尚未确认")
        assert "acknowledge_url" in next(
            p.json() for p in list(receiver.received) if p.path == "/hefei" and p.json()["seq"] == 2
        )

        # The ordinary case: each office that was to acknowledge is reminded, and nothing goes higher.
        ordinary_notices = own.notices(ordinary.case_id)
        assert sorted(
            (n["facts"]["original_recipient_id"], n["facts"]["escalated_to"]) for n in ordinary_notices
        ) == [
            ("yaohai-lead-office", None),
            ("yaohai-police", None),
        ]
        assert sorted(n["recipients"][0] for n in ordinary_notices) == ["yaohai-lead-office", "yaohai-police"]
        assert all(len(n["recipients"]) == 1 for n in ordinary_notices)
        reminded = [r for r in own.deliveries(ordinary.case_id) if r["origin"] == "notice"]
        assert sorted(r["recipient_id"] for r in reminded) == ["yaohai-lead-office", "yaohai-police"]
        assert not any(r["needs_ack"] for r in reminded)

        verified = own.verify_notices()
        assert verified.returncode == 0, verified.stdout + verified.stderr
