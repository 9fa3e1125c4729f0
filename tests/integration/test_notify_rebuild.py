"""Notify's database is lost and rebuilt from the log: nobody is told anything twice, reminders already
recorded are not recorded again, and every notice chain continues where the notices topic left off.

On topics of their own, the real notify process tells 瑶海's lead office, police and a case's reporter
about a key case in 大店社区 whose 2-year limit is near. Notify is then started on a new, empty database
on the same topics (and the same consumer group): it folds the whole log (its deliveries recorded as
skipped, under the same derived delivery ids), reads the notices back, and from then on delivers only
what is new.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from cluetrail.kafka import notice_topic
from contracts.vocabulary import EscalationTarget
from tests.harness import WebhookRecorder, wait_until
from tests.integration.deliveries import logged_notices
from tests.integration.notify_log import CaseLog, OwnNotify, now, office, own_notify, reporters

pytestmark = pytest.mark.integration


def near_limit() -> Any:
    """Police filing almost two years ago: the 2-year limit (审结清退) falls within the 30-day lead."""
    return now() - timedelta(days=365 * 2 - 10)


def settled(own: OwnNotify, log: CaseLog, *wanted: tuple[str, str]) -> list[dict[str, Any]] | None:
    rows = own.deliveries(log.case_id)
    done = {(r["event_type"], r["recipient_id"]) for r in rows if r["status"] == "delivered"}
    pending = [r for r in rows if r["status"] == "pending"]
    return rows if done >= set(wanted) and not pending else None


def test_a_rebuilt_notify_database_tells_nobody_twice_and_its_notice_chains_continue(tmp_path: Path) -> None:
    receiver = WebhookRecorder()
    routes = ("escalated", "police-accepted", "key-case-flagged", "key-case-deadline")
    recipients = [
        office("yaohai-lead-office", "瑶海区处非办", "lead_office", "340102", receiver.url("/lead"), *routes),
        office(
            "yaohai-police",
            "合肥市公安局瑶海分局",
            "police",
            "340102",
            receiver.url("/police"),
            {"event": "escalated", "targets": ["police"]},
            "key-case-deadline",
        ),
        reporters(),
    ]
    with own_notify(tmp_path, recipients, receiver, CLUETRAIL_NOTIFY_SCHEDULER_POLL_SECONDS="0.3") as own:
        case = CaseLog()
        case.clue()
        case.assessed(key_case=True)
        case.escalated(EscalationTarget.LEAD_OFFICE)
        case.escalated(EscalationTarget.POLICE)
        case.police_accepted(near_limit())
        own.publish(*case.events)
        before = wait_until(
            lambda: settled(
                own,
                case,
                ("escalated", "yaohai-lead-office"),
                ("escalated", "yaohai-police"),
                ("escalated", "anhui-reporters"),
                ("police-accepted", "yaohai-lead-office"),
                ("key-case-deadline", "yaohai-lead-office"),
                ("key-case-deadline", "yaohai-police"),
            ),
            timeout=120,
            what="the case's notices, the reporter's and the 2-year reminder delivered",
        )
        notices_before = own.notices(case.case_id)
        assert sorted(n["kind"] for n in notices_before) == ["key-case-deadline", "reporter-update"]
        posts_before = len(receiver.received)

        # The database is lost: notify starts on a new one, same topics, same consumer group.
        own.stop()
        own.env["CLUETRAIL_DATABASE_PREFIX"] = own.env["CLUETRAIL_DATABASE_PREFIX"] + "_rebuilt"
        own.start()

        def folded() -> list[dict[str, Any]] | None:
            rows = own.deliveries(case.case_id)
            return rows if len(rows) == len([r for r in before if r["origin"] == "event"]) else None

        rebuilt = wait_until(folded, timeout=120, what="the rebuilt database folded the case's history")
        # History is recorded, under the same delivery ids, as sent to nobody.
        assert {r["status"] for r in rebuilt} == {"skipped"}
        assert {r["delivery_id"] for r in rebuilt} == {
            r["delivery_id"] for r in before if r["origin"] == "event"
        }
        # The notices were read back, not decided again.
        assert [n["notice_id"] for n in own.notices(case.case_id)] == [n["notice_id"] for n in notices_before]

        # What happens from now on is delivered: the police get the case again, the reporter is told,
        # and another key case near its limit is reminded of (so the scheduler has looked at both).
        again = case.escalated(EscalationTarget.POLICE)
        other = CaseLog()
        other.clue(subject="某某养老服务有限公司")
        other.assessed(key_case=True)
        other.police_accepted(near_limit())
        own.publish(again, *other.events)
        wait_until(
            lambda: settled(
                own,
                other,
                ("key-case-deadline", "yaohai-lead-office"),
                ("key-case-deadline", "yaohai-police"),
            ),
            timeout=120,
            what="the other key case's reminder",
        )
        after = wait_until(
            lambda: (rows := settled(own, case)) and any(r["seq"] == again.seq for r in rows) and rows,
            timeout=120,
            what="the new escalation delivered",
        )
        new = [r for r in after if r["status"] == "delivered"]
        assert {(r["origin"], r["event_type"], r["recipient_id"]) for r in new} == {
            ("event", "escalated", "yaohai-lead-office"),
            ("event", "escalated", "yaohai-police"),
            ("event", "escalated", "anhui-reporters"),  # recorded as the reporter's notice below
        }

        # Nobody was told anything twice: every delivery id reached its receiver once.
        ids = [p.headers["X-Cluetrail-Delivery"] for p in list(receiver.received)]
        assert len(ids) == len(set(ids))
        told_since = [p.json() for p in list(receiver.received)[posts_before:]]
        about_case = [p for p in told_since if p.get("case_id") == str(case.case_id)]
        assert sorted((p["event_type"], p["recipient_id"]) for p in about_case) == [
            ("escalated", "yaohai-lead-office"),
            ("escalated", "yaohai-police"),
        ]

        # The chain of the case's notices continued: seq 3 follows the two read back.
        chain = own.notices(case.case_id)
        assert [(n["seq"], n["kind"]) for n in chain][:2] == [(n["seq"], n["kind"]) for n in notices_before]
        assert chain[2]["seq"] == 3 and chain[2]["kind"] == "reporter-update"
        assert chain[2]["prev_hash"] == chain[1]["hash"]
        on_topic = [n for n in logged_notices(own.stack.settings()) if n.get("case_id") == str(case.case_id)]
        assert sorted(n["kind"] for n in on_topic) == [
            "key-case-deadline",
            "reporter-update",
            "reporter-update",
        ]
        assert notice_topic(own.stack.settings()).endswith(".notices")

        verified = own.verify_notices(case.case_id)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "every stream's chain intact" in verified.stdout and "reporter-update" in verified.stdout
