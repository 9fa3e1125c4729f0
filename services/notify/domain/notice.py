"""The notice a recipient receives: a Chinese text an officer can read and the structured facts.

A notice carries what the recipient needs to act (case id, where, what happened, why or with what
outcome, the event's place in the case, when) and nothing about the reporter: the reporter's identity is
protected (举报人保护制度), so neither the actor nor any field of the original clue is ever copied in.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from contracts.envelope import Envelope
from contracts.events import CaseClosed, CaseEscalated
from contracts.jurisdictions import JurisdictionRegistry
from contracts.vocabulary import EscalationTarget, Outcome
from services.notify.domain.recipients import Recipient

# China keeps one offset all year (no daylight saving), so a fixed zone is exact.
BEIJING = timezone(timedelta(hours=8), "北京时间")

TARGET_LABELS: dict[EscalationTarget, str] = {
    EscalationTarget.LEAD_OFFICE: "处非办（逐级上报）",
    EscalationTarget.POLICE: "公安机关（移送公安）",
    EscalationTarget.OTHER_REGION: "相关涉及地（跨区域通报）",
}
OUTCOME_LABELS: dict[Outcome, str] = {
    Outcome.NO_VIOLATION: "未发现违法违规",
    Outcome.RECTIFIED: "已整改",
    Outcome.FUNDS_RETURNED: "资金已清退",
    Outcome.PENALISED: "已行政处罚",
    Outcome.TRANSFERRED_TO_POLICE: "已移送公安",
    Outcome.MERGED: "已并案",
    Outcome.WRITTEN_OFF: "风险已销号",
}


def place_name(registry: JurisdictionRegistry, code: str) -> str:
    """A jurisdiction's name with its ancestors below province level, e.g. 合肥市瑶海区龙岗街道大店社区."""
    if code not in registry:
        return code
    chain = [registry.get(code), *registry.ancestors(code)]
    return "".join(node.name for node in reversed(chain) if node.level != "province")


def beijing_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


def render_text(event: Envelope, registry: JurisdictionRegistry) -> str:
    """The human-readable notice (one paragraph of Chinese)."""
    where = place_name(registry, event.jurisdiction)
    head = f"案件 {event.case_id}（{where}）第 {event.seq} 号事件，发生于 {beijing_time(event.occurred_at)}："
    if isinstance(event, CaseEscalated):
        p = event.payload
        how = "依规则自动上报" if p.rule else "经办人员上报"
        return (
            f"【案件上报】{head}已上报至{place_name(registry, p.target_jurisdiction)}"
            f"{TARGET_LABELS[p.target]}，{how}。事由：{p.reason}"
        )
    if isinstance(event, CaseClosed):
        c = event.payload
        return (
            f"【案件办结】{head}已办结，结果：{OUTCOME_LABELS[c.outcome]}，"
            f"追赃挽损 {c.recovered_amount_yuan} 元。说明：{c.summary}"
        )
    raise ValueError(f"no notice template for {event.type} events")


def render_notice(
    event: Envelope, recipient: Recipient, registry: JurisdictionRegistry, delivery_id: uuid.UUID
) -> dict[str, Any]:
    """The JSON document POSTed to ``recipient`` for ``event``."""
    facts: dict[str, Any] = {
        "event_id": str(event.event_id),
        "event_type": event.type,
        "case_id": str(event.case_id),
        "seq": event.seq,
        "jurisdiction": event.jurisdiction,
        "jurisdiction_name": place_name(registry, event.jurisdiction),
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": event.recorded_at.isoformat(),
        "correlation_id": str(event.correlation_id),
        "event_hash": event.hash,
    }
    if isinstance(event, CaseEscalated):
        facts["escalation"] = {
            "target": event.payload.target.value,
            "target_jurisdiction": event.payload.target_jurisdiction,
            "target_jurisdiction_name": place_name(registry, event.payload.target_jurisdiction),
            "reason": event.payload.reason,
            "rule": event.payload.rule,
        }
    elif isinstance(event, CaseClosed):
        facts["closure"] = {
            "outcome": event.payload.outcome.value,
            "summary": event.payload.summary,
            "recovered_amount_yuan": event.payload.recovered_amount_yuan,
        }
    return {
        "delivery_id": str(delivery_id),
        "recipient_id": recipient.id,
        "recipient_name": recipient.name,
        "text": render_text(event, registry),
        **facts,
    }


def notice_body(document: dict[str, Any]) -> str:
    """The exact body sent and signed: compact JSON, Chinese kept readable."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
