"""notify's notices in reporting: a record of the notices topic read as a notice or refused with the
reason, each kind said in Chinese on the case page (a reporter's notice as 告知举报人, naming nobody), and
the timeline file that carries a case's notices with their chain checked."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from contracts.envelope import GENESIS_HASH, canonical_bytes, compute_hash
from contracts.events import event_bytes
from contracts.notices import Notice, NoticeKind, notice_bytes, seal_notice
from services.reporting.domain.notices import (
    NoticeRefused,
    notice_recipients,
    notice_summary,
    read_notice,
    timeline_notice,
)
from services.reporting.domain.timeline import stamped_timeline, timeline_file_bytes
from services.reporting.entrypoints.cli.cases import check_timeline_file
from tests.unit.case_chains import assessed, chain

DADIAN = "340102L01003"  # 大店社区


def case_notices(case_id: uuid.UUID) -> list[Notice]:
    """A key case's stream: its 2-year reminder, the police not acknowledging it, the reporter told."""
    reminder = seal_notice(
        kind="key-case-deadline",
        stream=str(case_id),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=DADIAN,
        occurred_at=datetime(2026, 3, 31, 1, tzinfo=UTC),
        recipients=["yaohai-lead-office", "yaohai-police"],
        facts={
            "limit": "trial_and_return_by",
            "limit_label": "审结并清退资金期限",
            "due_on": "2026-04-10",
            "days_left": 10,
            "criminal_filed_on": "2024-04-10",
        },
        case_id=case_id,
        dedupe_key=f"key-case-deadline/{case_id}/trial_and_return_by",
    )
    ignored = seal_notice(
        kind="unacknowledged",
        stream=str(case_id),
        seq=2,
        prev_hash=reminder.hash,
        jurisdiction=DADIAN,
        occurred_at=datetime(2026, 4, 1, 2, tzinfo=UTC),
        recipients=["yaohai-police", "yaohai-lead-office"],
        facts={
            "original_kind": "key-case-deadline",
            "original_kind_label": "重点案件期限提醒",
            "original_recipient_id": "yaohai-police",
            "original_recipient_name": "合肥市公安局瑶海分局",
            "hours": 24,
            "escalated_to": "yaohai-lead-office",
        },
        case_id=case_id,
        dedupe_key=f"unacknowledged/{reminder.notice_id}/yaohai-police",
    )
    told = seal_notice(
        kind="reporter-update",
        stream=str(case_id),
        seq=3,
        prev_hash=ignored.hash,
        jurisdiction=DADIAN,
        occurred_at=datetime(2026, 4, 2, 2, tzinfo=UTC),
        recipients=["anhui-reporters"],
        facts={
            "stage": "transferred",
            "stage_label": "已移送公安机关",
            "on": "2026-04-02",
            "text": "【举报进度】您举报的线索已移送公安机关（2026-04-02）。",
        },
        case_id=case_id,
        dedupe_key="reporter-update/x",
    )
    return [reminder, ignored, told]


def test_a_notice_record_reads_as_written_and_anything_else_is_refused_with_the_reason() -> None:
    case_id = uuid.uuid4()
    notice = case_notices(case_id)[0]
    value = notice_bytes(notice)
    read = read_notice(value, str(case_id).encode())
    assert read.notice == notice and read.text == value.decode()
    assert compute_hash(read.document) == notice.hash
    assert read_notice(value, None).notice == notice

    with pytest.raises(NoticeRefused, match="not a notice"):
        read_notice(b"\xff not json", None)
    with pytest.raises(NoticeRefused, match="not a JSON object"):
        read_notice(b"[1, 2]", None)
    with pytest.raises(NoticeRefused, match="not a notice: kind"):
        read_notice(notice_bytes(notice).replace(b'"key-case-deadline"', b'"birthday"'), None)
    with pytest.raises(NoticeRefused, match="not the notice's stream"):
        read_notice(value, b"reporting-deadline/340102L01003")


def test_each_kind_is_said_in_chinese_and_a_reporters_notice_names_no_recipient() -> None:
    reminder, ignored, told = (n.model_dump(mode="json") for n in case_notices(uuid.uuid4()))
    assert notice_summary(reminder) == "审结并清退资金期限为 2026-04-10（距今 10 天）"
    overdue = {**reminder, "facts": {**reminder["facts"], "days_left": -3}}
    assert notice_summary(overdue).endswith("（已逾期 3 天）")
    assert notice_recipients(reminder) == "yaohai-lead-office、yaohai-police"
    assert notice_summary(ignored) == (
        "合肥市公安局瑶海分局超过 24 小时未确认「重点案件期限提醒」，已报上一级（yaohai-lead-office）"
    )

    shown = timeline_notice(told)
    assert shown["kind_name"] == "告知举报人" and shown["recipients"] == "告知举报人"
    assert shown["summary"] == "已移送公安机关：【举报进度】您举报的线索已移送公安机关（2026-04-02）。"
    assert "anhui-reporters" not in json.dumps(shown, ensure_ascii=False)
    assert (shown["stream"], shown["seq"], shown["hash"]) == (told["stream"], 3, told["hash"])

    dead = {
        "kind": "delivery-dead",
        "facts": {
            "failed_recipient_id": "yaohai-finance-bureau",
            "failed_recipient_name": "瑶海区财政金融局",
            "failed_channel": "email",
            "seq": 4,
            "reason": "undeliverable after 1 attempts: SMTP refused: 550 " + "x" * 200,
        },
    }
    summary = notice_summary(dead)
    assert summary.startswith("发往瑶海区财政金融局（电子邮件）的第 4 号事件通知投递失败：undeliverable")
    assert summary.endswith("…") and len(summary) < 200


def timeline_file(tmp_path: Path, document: dict[str, Any], name: str = "timeline.json") -> Path:
    path = tmp_path / name
    path.write_bytes(timeline_file_bytes(document))
    return path


def test_a_timeline_file_carries_the_cases_notices_and_names_an_altered_one(tmp_path: Path) -> None:
    events = [json.loads(event_bytes(e)) for e in chain(assessed())]
    case_id = events[0]["case_id"]
    notices = [n.model_dump(mode="json") for n in case_notices(uuid.UUID(case_id))]
    document = stamped_timeline(case_id, events, source="test", notices=notices)
    assert document["timeline"]["format"] == "cluetrail-case-timeline/3"
    assert document["stamp"]["notice_heads"] == {case_id: notices[-1]["hash"]}
    assert document["stamp"]["notice_hashes_recomputed"] is True
    assert check_timeline_file(timeline_file(tmp_path, document)) == ([], True)

    # The reporter's notice reworded and the file stamped again: the stamp holds, the notice's hash not.
    notices[2]["facts"]["text"] = "【举报进度】您举报的线索已办结。"
    restamped = stamped_timeline(case_id, events, source="test", notices=notices)
    problems, _ = check_timeline_file(timeline_file(tmp_path, restamped, "restamped.json"))
    assert problems == [
        f"a notice's hash or link does not hold: stream {case_id} seq 3 notice {notices[2]['notice_id']}: "
        "hash does not match the notice's content (altered after it was written)"
    ]

    # A notice left out of the file: the chain of its stream no longer links.
    partial = stamped_timeline(case_id, events, source="test", notices=[notices[0], notices[2]])
    problems, _ = check_timeline_file(timeline_file(tmp_path, partial, "partial.json"))
    assert problems == [
        f"a notice's hash or link does not hold: stream {case_id} seq 3 notice {notices[2]['notice_id']}: "
        "seq 3 follows seq 1: events 2..2 are missing"
    ]


def test_a_format_2_file_of_events_only_is_still_checked_in_full(tmp_path: Path) -> None:
    events = [json.loads(event_bytes(e)) for e in chain(assessed())]
    document = stamped_timeline(events[0]["case_id"], events, source="test")
    timeline = document["timeline"]
    del timeline["notices"]
    timeline["format"] = "cluetrail-case-timeline/2"
    for key in ("notices", "notice_heads", "notice_hashes_recomputed"):
        del document["stamp"][key]
    document["stamp"]["timeline_sha256"] = hashlib.sha256(canonical_bytes(timeline)).hexdigest()
    assert check_timeline_file(timeline_file(tmp_path, document)) == ([], True)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("cross-region", "跨区域通报"),
        ("cross-region-received", "收到跨区域通报"),
        ("cross-region-ack", "跨区域通报已确认"),
        ("region-chain-refused", "跨区域案件事件拒收告警"),
        ("reporter-update", "告知举报人"),
    ],
)
def test_every_notice_kind_notify_writes_is_named_in_chinese_on_the_timeline(kind: str, name: str) -> None:
    assert kind in get_args(NoticeKind)
    assert timeline_notice({"kind": kind, "facts": {}})["kind_name"] == name
