"""The notice a recipient receives: a Chinese text an officer can read and the structured facts.

A notice carries what the recipient needs to act (case id, where, what happened, why or with what
outcome, the event's place in the case, when, and the case itself: subject, sector, money at risk,
participants, grade) and nothing about the reporter: the reporter's identity is protected (举报人保护制度),
so neither the actor nor the reporter field of the clue is ever copied in; payload fields of other events
are copied only when listed in ``PAYLOAD_FACTS``.

Texts come from Jinja templates (one file per event type or notice kind, ``<kind>.j2``), so a deployment
can word them itself; a template that cannot be rendered fails that one delivery, never the others.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from contracts import labels
from contracts.envelope import Envelope
from contracts.events import CaseClosed, CaseEscalated
from contracts.jurisdictions import JurisdictionRegistry
from contracts.taxonomy import default_taxonomy
from contracts.vocabulary import EscalationTarget, ReopenTrigger
from services.notify.domain.cases import CaseFacts
from services.notify.domain.recipients import NOTICE_KINDS, ROUTED_EVENTS, Recipient

# China keeps one offset all year (no daylight saving), so a fixed zone is exact.
BEIJING = timezone(timedelta(hours=8), "北京时间")
DEFAULT_TEMPLATES = Path(str(resources.files("services.notify").joinpath("templates")))
SMS_MAX_CHARS = 300
# What a reporter's notice holds (shown on the receipt).
RECEIPT_FIELDS = ("text", "event_type", "stage", "stage_label", "on")

# Why a delivery died, as the worker words it in its dead letter and alert (services/notify/worker.py); the
# error itself (an HTTP status, an SMTP answer) is the receiver's and is shown as it came.
DEAD_REASON = re.compile(r"undeliverable after (?P<attempts>[0-9]+) attempts: (?P<error>.*)", re.DOTALL)
# The payload fields of newer case events a recipient may see; anything else stays out of notices.
PAYLOAD_FACTS: dict[str, tuple[str, ...]] = {
    "key-case-flagged": (
        "reasons",
        "supervising_leader",
        "criminal_filed_on",
        "trial_and_return_by",
        "supervision_from",
        "clearance_by",
    ),
    "handoff-requested": ("from_jurisdiction", "to_jurisdiction", "reason"),
    "police-accepted": ("police_case_number", "accepted_at", "police_jurisdiction"),
    "written-off": ("outcome", "summary", "recovered_amount_yuan"),
    "reopened": ("reason", "trigger"),
    "reward-granted": ("amount_yuan",),
}


class TemplateError(ValueError):
    """A notice text could not be written (missing or broken template); the delivery is dead."""


def place_name(registry: JurisdictionRegistry, code: str) -> str:
    """A jurisdiction's name with its ancestors below province level, e.g. 合肥市瑶海区龙岗街道大店社区."""
    if code not in registry:
        return code
    chain = [registry.get(code), *registry.ancestors(code)]
    return "".join(node.name for node in reversed(chain) if node.level != "province")


def beijing_time(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S") + "（北京时间）"


class Templates:
    """The notice templates of a deployment; ``check()`` at start-up names a template that will not load."""

    def __init__(self, directory: Path = DEFAULT_TEMPLATES) -> None:
        self.directory = directory
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text for webhooks, mail and SMS, never HTML
            keep_trailing_newline=False,
        )

    def check(self, kinds: frozenset[str] = ROUTED_EVENTS | NOTICE_KINDS) -> None:
        for kind in sorted(kinds):
            try:
                self._env.get_template(f"{kind}.j2")
            except jinja2.TemplateError as exc:
                raise TemplateError(f"notice template {self.directory / (kind + '.j2')}: {exc}") from exc

    def render(self, kind: str, context: dict[str, Any]) -> str:
        try:
            return self._env.get_template(f"{kind}.j2").render(**context).strip()
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"no notice template for {kind} events") from exc
        except Exception as exc:  # a template error of any kind is this delivery's fault, not the batch's
            raise TemplateError(f"notice template {kind}.j2 failed: {type(exc).__name__}: {exc}") from exc


DEFAULT = Templates()


def yuan_text(amount: int) -> str:
    """Money as an officer reads it: 1.5 亿元, 80 万元, 5000 元."""
    if amount >= 100_000_000:
        return f"{amount / 100_000_000:.4g} 亿元"
    if amount >= 10_000:
        return f"{amount / 10_000:.4g} 万元"
    return f"{amount} 元"


def case_summary(facts: CaseFacts | None) -> dict[str, Any]:
    """The case as a recipient needs it to act (never the reporter): structured, for the webhook."""
    if facts is None:
        return {}
    sector_label = default_taxonomy().label(facts.sector) if facts.sector else None
    grade_label = labels.label(labels.GRADES, facts.grade) if facts.grade else None
    return {
        "subject_name": facts.subject_name,
        "subject_kind": facts.subject_kind,
        "sector": facts.sector,
        "sector_label": sector_label,
        "estimated_amount_yuan": facts.estimated_amount_yuan,
        "participants": facts.participants,
        "grade": facts.grade,
        "grade_label": grade_label,
        "key_case": facts.key_case,
        "responsible_department": facts.responsible_department,
    }


def case_line(facts: CaseFacts | None) -> str:
    """The same facts in one Chinese sentence for the text (parts not yet known are left out)."""
    summary = case_summary(facts)
    parts: list[str] = []
    if summary.get("subject_name"):
        kind = labels.SUBJECT_KINDS.get(summary["subject_kind"] or "", "")
        parts.append(f"涉事主体：{summary['subject_name']}" + (f"（{kind}）" if kind else ""))
    if summary.get("sector_label"):
        parts.append(f"领域：{summary['sector_label']}")
    if summary.get("estimated_amount_yuan") is not None:
        parts.append(f"涉案金额约 {yuan_text(summary['estimated_amount_yuan'])}")
    if summary.get("participants") is not None:
        parts.append(f"涉众 {summary['participants']} 人")
    if summary.get("grade_label"):
        parts.append(f"风险等级：{summary['grade_label']}" + ("（重点案件）" if summary["key_case"] else ""))
    if summary.get("responsible_department"):
        parts.append(f"牵头部门：{summary['responsible_department']}")
    return "；".join(parts) + "。" if parts else ""


def event_facts(event: Envelope, registry: JurisdictionRegistry) -> dict[str, Any]:
    """The structured facts of a case event a recipient may see."""
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
    elif event.type in PAYLOAD_FACTS:
        payload = getattr(event, "payload", None)
        dumped = payload.model_dump(mode="json") if payload is not None else {}
        facts["details"] = {k: dumped[k] for k in PAYLOAD_FACTS[event.type] if k in dumped}
    return facts


def event_context(
    event: Envelope,
    registry: JurisdictionRegistry,
    facts: CaseFacts | None = None,
    recipient: Recipient | None = None,
) -> dict[str, Any]:
    """What a case event's template may use: the event, the case's facts, who reads it."""
    where = place_name(registry, event.jurisdiction)
    context: dict[str, Any] = {
        "case_id": str(event.case_id),
        "seq": event.seq,
        "place": where,
        "when": beijing_time(event.occurred_at),
        "head": f"案件 {event.case_id}（{where}）第 {event.seq} 号事件，"
        f"发生于 {beijing_time(event.occurred_at)}：",
        "case": case_summary(facts),
        "case_line": case_line(facts),
        "recipient_name": recipient.name if recipient else "",
        "recipient_role": recipient.role if recipient else "",
    }
    if isinstance(event, CaseEscalated):
        p = event.payload
        context |= {
            "target_place": place_name(registry, p.target_jurisdiction),
            "target_label": labels.label(labels.ESCALATION_TARGETS, p.target),
            "how": "依规则自动上报" if p.rule else "经办人员上报",
            "reason": escalation_reason(event, registry, facts),
        }
    elif isinstance(event, CaseClosed):
        c = event.payload
        context |= {
            "outcome_label": labels.label(labels.OUTCOMES, c.outcome),
            "recovered_amount_yuan": c.recovered_amount_yuan,
            "summary": c.summary,
        }
    else:
        details: dict[str, Any] = event_facts(event, registry).get("details", {})
        context |= details
        if "outcome" in details:
            context["outcome_label"] = labels.label(labels.OUTCOMES, details["outcome"])
        if "reasons" in details:
            context["reason_labels"] = "、".join(labels.key_case_reason(c) for c in details["reasons"])
        if details.get("trigger") == ReopenTrigger.NEW_CLUE:
            # Triage's own words (English) for a case reopened by a new clue: said here in Chinese.
            linked = getattr(getattr(event, "payload", None), "linked_case_id", None)
            context["reason"] = "同一主体出现新线索" + (f"（案件 {linked}）" if linked else "")
        for field, name in (
            ("from_jurisdiction", "from_place"),
            ("to_jurisdiction", "to_place"),
            ("police_jurisdiction", "police_place"),
        ):
            if field in details:
                context[name] = place_name(registry, details[field])
    return context


def escalation_reason(
    event: CaseEscalated, registry: JurisdictionRegistry, facts: CaseFacts | None = None
) -> str:
    """Why a case was escalated, in Chinese (``contracts.labels.escalation_reason``): from the rule, the
    event's fields and the case's key-case reasons when triage's rule escalated it, the officer's own words
    otherwise."""
    p = event.payload
    return labels.escalation_reason(
        p.rule,
        p.reason,
        target_place=place_name(registry, p.target_jurisdiction),
        level=p.level,
        key_case_reasons=facts.key_case_reasons if facts is not None else (),
    )


def notice_labels(facts: dict[str, Any]) -> dict[str, str]:
    """Chinese labels of the codes a notice's facts hold, for its template."""
    found: dict[str, str] = {}
    if "event_type" in facts:
        found["event_type_label"] = labels.event_kind(str(facts["event_type"]))
    if "failed_channel" in facts:
        found["failed_channel_label"] = labels.label(labels.CHANNELS, facts["failed_channel"])
    if "reason" in facts:
        reason = str(facts["reason"])
        dead = DEAD_REASON.fullmatch(reason)
        found["reason_text"] = (
            f"连续 {dead['attempts']} 次投递未成功（最后一次：{dead['error']}）" if dead else reason
        )
    return found


def render_text(
    event: Envelope,
    registry: JurisdictionRegistry,
    templates: Templates = DEFAULT,
    facts: CaseFacts | None = None,
    recipient: Recipient | None = None,
) -> str:
    """The human-readable notice of a case event (one paragraph of Chinese)."""
    if event.type not in ROUTED_EVENTS:
        raise TemplateError(f"no notice template for {event.type} events")
    return templates.render(event.type, event_context(event, registry, facts, recipient))


def render_notice(
    event: Envelope,
    recipient: Recipient,
    registry: JurisdictionRegistry,
    delivery_id: uuid.UUID,
    templates: Templates = DEFAULT,
    facts: CaseFacts | None = None,
) -> dict[str, Any]:
    """The JSON document POSTed to ``recipient``'s webhook for ``event``, with the case's facts."""
    document = {
        "delivery_id": str(delivery_id),
        "recipient_id": recipient.id,
        "recipient_name": recipient.name,
        "text": render_text(event, registry, templates, facts, recipient),
        **event_facts(event, registry),
    }
    if facts is not None:
        document["case"] = case_summary(facts)
    return document


@dataclass(frozen=True)
class Message:
    """What goes out on one channel: a webhook's JSON, a mail (subject and text) or an SMS text."""

    channel: str
    body: str


def subject_of(text: str) -> str:
    """A mail subject: the notice's 【label】 and case, cut to a readable length."""
    head = text.split("：", 1)[0]
    return head if len(head) <= 120 else head[:119] + "…"


def channel_message(channel: str, recipient: Recipient, document: dict[str, Any]) -> Message:
    """The body stored for one channel of a delivery, from the webhook document of the notice."""
    if channel == "webhook":
        return Message(channel, notice_body(document))
    text: str = document["text"]
    if channel == "receipt":
        # The reporter sees the text on the receipt, with the stage and the day: nothing else.
        return Message(channel, notice_body({k: document[k] for k in RECEIPT_FIELDS if k in document}))
    ack = document.get("acknowledge_url")
    if channel == "email":
        lines = [text, "", f"通知编号：{document['delivery_id']}"]
        if ack:
            lines.append(f"确认收到：{ack}")
        mail = {"to": recipient.email, "subject": subject_of(text), "text": "\n".join(lines)}
        return Message(channel, notice_body(mail))
    short = text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"
    return Message(channel, notice_body({"to": recipient.phone, "text": short}))


def notice_body(document: dict[str, Any]) -> str:
    """The exact body sent and signed: compact JSON, Chinese kept readable."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# The stage a case event moves a case to, as its reporter may see it (办理进度), with the Chinese label.
REPORTER_STAGES: dict[str, tuple[str, str]] = {
    "closed": ("closed", "已办结"),
    "written-off": ("closed", "风险已处置销号"),
    "reward-granted": ("reward_granted", "举报奖励已发放"),
    "reopened": ("in_handling", "已重新核查处理"),
}


def reporter_stage(event: Envelope) -> tuple[str, str] | None:
    """What ``event`` tells the case's reporter, or None: an escalation only when it is to the police."""
    if isinstance(event, CaseEscalated):
        return (
            ("transferred", "已移送公安机关依法处理")
            if event.payload.target == EscalationTarget.POLICE
            else None
        )
    return REPORTER_STAGES.get(event.type)


def reporter_document(event: Envelope, templates: Templates = DEFAULT) -> dict[str, Any]:
    """The reporter's notice of ``event``: the stage, the day and a Chinese text; nothing of the case
    (no subject, place, amounts, officers or case numbers) and nothing of the reporter."""
    stage = reporter_stage(event)
    if stage is None:
        raise TemplateError(f"{event.type} events say nothing to a reporter")
    facts: dict[str, Any] = {
        "event_type": event.type,
        "stage": stage[0],
        "stage_label": stage[1],
        "on": event.occurred_at.astimezone(BEIJING).date().isoformat(),
    }
    return {**facts, "text": templates.render("reporter-update", facts)}
