"""What survives the loss of notify's database: derived delivery ids, the start of delivery, the decisions a
notice records; and stored bodies that cannot be sent fail for good instead of looping."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.envelope import uuid7
from contracts.notices import dedupe_key_of, seal_notice
from services.notify.adapters.channels import malformed
from services.notify.adapters.deliveries import delivery_id_for
from services.notify.domain.history import DeliveryStart
from services.notify.settings import NotifySettings


def test_a_delivery_id_is_derived_from_event_recipient_and_channel() -> None:
    event = uuid7()
    first = delivery_id_for(event, "yaohai-police", "webhook")
    assert first == delivery_id_for(event, "yaohai-police", "webhook")  # any database, any time
    assert first.version == 5
    others = {
        delivery_id_for(event, "yaohai-police", "sms"),
        delivery_id_for(event, "yaohai-lead-office", "webhook"),
        delivery_id_for(uuid7(), "yaohai-police", "webhook"),
    }
    assert first not in others and len(others) == 3


def test_history_is_what_lies_below_the_start_offsets_or_before_the_named_instant() -> None:
    recorded = datetime(2026, 3, 1, tzinfo=UTC)
    start = DeliveryStart({0: 10, 2: 4})
    assert start.is_history(0, 9, recorded) and not start.is_history(0, 10, recorded)
    assert not start.is_history(1, 0, recorded)  # a partition that was empty at the start
    assert start.is_history(2, 3, recorded)
    since = DeliveryStart({}, recorded)
    assert since.is_history(0, 500, recorded - timedelta(seconds=1))
    assert not since.is_history(0, 0, recorded)


@pytest.mark.parametrize("value", ["yesterday", "2026-03-01T00:00:00", "log-middle"])
def test_a_start_of_delivery_that_is_not_understood_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="CLUETRAIL_NOTIFY_DELIVER_FROM"):
        NotifySettings(**{"CLUETRAIL_NOTIFY_DELIVER_FROM": value})
    named = NotifySettings(**{"CLUETRAIL_NOTIFY_DELIVER_FROM": "2026-03-01T00:00:00+08:00"})
    assert named.deliver_after == datetime(2026, 2, 28, 16, tzinfo=UTC)
    assert NotifySettings().deliver_from == "log-end" and NotifySettings().deliver_after is None


def test_a_notice_carries_its_decision_and_version_one_notices_have_theirs_derived() -> None:
    case_id = uuid.uuid4()
    notice = seal_notice(
        kind="key-case-deadline",
        stream=str(case_id),
        seq=1,
        prev_hash="0" * 64,
        jurisdiction="340102",
        occurred_at=datetime(2026, 3, 31, tzinfo=UTC),
        recipients=["yaohai-police"],
        facts={"limit": "trial_and_return_by"},
        case_id=case_id,
        dedupe_key=f"key-case-deadline/{case_id}/trial_and_return_by",
    )
    document = notice.model_dump(mode="json")
    assert notice.schema_version == 3 and dedupe_key_of(document) == notice.dedupe_key
    version_one = {k: v for k, v in document.items() if k != "dedupe_key"} | {"schema_version": 1}
    assert dedupe_key_of(version_one) == notice.dedupe_key
    reminder = {
        "kind": "reporting-deadline",
        "recipients": ["dadian-community-office"],
        "facts": {"period": "2026-03", "due_on": "2026-03-20"},
    }
    assert dedupe_key_of(reminder) == "reporting-deadline/dadian-community-office/2026-03/2026-03-20"


@pytest.mark.parametrize(
    ("channel", "body", "reason"),
    [
        ("email", json.dumps({"event_id": "x"}), "has no to, subject, text"),
        ("sms", json.dumps({"to": "000-0000-0001"}), "has no text"),
        ("webhook", json.dumps({"notice_id": "x"}), "never written"),
        ("webhook", "not json", "not JSON"),
        ("email", "[1, 2]", "not a JSON object"),
    ],
)
def test_a_body_that_cannot_be_sent_is_named_so_it_fails_for_good(
    channel: str, body: str, reason: str
) -> None:
    problem = malformed(channel, body)
    assert problem is not None and reason in problem
    assert malformed("email", json.dumps({"to": "a@b.cn", "subject": "s", "text": "t"})) is None
