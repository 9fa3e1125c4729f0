"""notify's notices in a case's timeline: reading one off the notices topic, and what the timeline says of
it. No I/O.

A notice (contracts.notices) is notify's own decision — a reminder, an unacknowledged escalation, a
delivery alert, a notice to the reporter — recorded in a hash chain of its own stream, beside the case's
events and never one of them. Reporting keeps each as written, so its hash can be recomputed, and shows
it marked as notify's: a reporter's notice as 告知举报人, never with anything that names the reporter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.notices import Notice
from services.reporting.domain import labels as L

REPORTER_NOTICE = "reporter-update"
# A delivery failure's reason quotes the receiver's answer; the timeline shows its start.
REASON_SHOWN = 120


class NoticeRefused(Exception):
    """A record of the notices topic that is not a notice reporting can keep; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class NoticeRecord:
    """A notice read off the topic: the document as written (its hash covers exactly these fields), its
    text, and the validated contract."""

    document: dict[str, Any]
    text: str
    notice: Notice


def read_notice(value: bytes | None, key: bytes | None) -> NoticeRecord:
    """The notice a record carries; ``NoticeRefused`` when it is not one, or is filed under another key
    than its stream (notify keys each notice by its stream, so a stream stays in one partition)."""
    try:
        text = (value or b"").decode("utf-8")
        document = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NoticeRefused(f"not a notice: {exc}") from None
    if not isinstance(document, dict):
        raise NoticeRefused("not a notice: the record is not a JSON object")
    try:
        notice = Notice.model_validate(document)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "notice"
        raise NoticeRefused(f"not a notice: {where}: {first['msg']}") from None
    if key is not None and key != notice.stream.encode():
        raise NoticeRefused(f"record key {key!r} is not the notice's stream {notice.stream}")
    return NoticeRecord(document, text, notice)


def notice_summary(document: dict[str, Any]) -> str:
    """What a notice says, in one line of Chinese for the timeline (from its facts; nothing of a reporter:
    a reporter's notice carries only the stage and the text the reporter was sent)."""
    kind = document.get("kind")
    facts: dict[str, Any] = document.get("facts") or {}
    if kind == "key-case-deadline":
        days = facts.get("days_left")
        when = f"已逾期 {-days} 天" if isinstance(days, int) and days < 0 else f"距今 {days} 天"
        return f"{facts.get('limit_label') or facts.get('limit')}为 {facts.get('due_on')}（{when}）"
    if kind == "unacknowledged":
        who = facts.get("original_recipient_name") or facts.get("original_recipient_id")
        what = facts.get("original_kind_label") or facts.get("original_kind")
        text = f"{who}超过 {facts.get('hours')} 小时未确认「{what}」"
        escalated_to = facts.get("escalated_to")
        return text + (f"，已报上一级（{escalated_to}）" if escalated_to else "")
    if kind == "delivery-dead":
        reason = str(facts.get("reason") or "")
        if len(reason) > REASON_SHOWN:
            reason = reason[:REASON_SHOWN] + "…"
        channel = L.label(L.CHANNELS, facts.get("failed_channel"))
        return (
            f"发往{facts.get('failed_recipient_name') or facts.get('failed_recipient_id')}（{channel}）"
            f"的第 {facts.get('seq')} 号事件通知投递失败：{reason}"
        )
    if kind == REPORTER_NOTICE:
        stage = facts.get("stage_label") or facts.get("stage") or ""
        return f"{stage}：{facts.get('text') or ''}" if stage else str(facts.get("text") or "")
    if kind == "reporting-deadline":
        return f"{facts.get('period')} 月度台账和统计表应于 {facts.get('due_on')} 前报送"
    return json.dumps(facts, ensure_ascii=False, sort_keys=True)


def notice_recipients(document: dict[str, Any]) -> str:
    """Whom a notice was for: the recipients notify names, or 告知举报人 for a reporter's notice (whose
    recipient entry stands for every reporter of a place; the reporter is never named)."""
    if document.get("kind") == REPORTER_NOTICE:
        return L.NOTICE_KINDS[REPORTER_NOTICE]
    return "、".join(str(r) for r in document.get("recipients") or ())


def timeline_notice(document: dict[str, Any]) -> dict[str, Any]:
    """A notice as the case page lists it: its chain place and hashes, its kind and content in Chinese."""
    return {
        "notice_id": document.get("notice_id"),
        "stream": document.get("stream"),
        "seq": document.get("seq"),
        "kind": document.get("kind"),
        "kind_name": L.label(L.NOTICE_KINDS, document.get("kind")),
        "summary": notice_summary(document),
        "recipients": notice_recipients(document),
        "occurred_at": document.get("occurred_at"),
        "recorded_at": document.get("recorded_at"),
        "prev_hash": document.get("prev_hash"),
        "hash": document.get("hash"),
    }
