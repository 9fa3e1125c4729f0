"""The notice text and facts: what an office needs to act, and never who reported the clue."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseEscalated,
    CaseReopened,
    ClosedPayload,
    ClueReported,
    ClueReportedPayload,
    EscalatedPayload,
    KeyCaseFlagged,
    KeyCaseFlaggedPayload,
    ReopenedPayload,
    SealedValue,
    Subject,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.notices import seal_notice
from contracts.vocabulary import (
    ClueSource,
    EscalationLevel,
    EscalationTarget,
    Grade,
    Outcome,
    ReopenTrigger,
    SubjectKind,
)
from services.notify.adapters.notifier import Notifier
from services.notify.domain.cases import CaseFacts, facts_document, facts_from_document, fold
from services.notify.domain.notice import Templates, notice_body, place_name, render_notice
from services.notify.domain.recipients import RecipientBook
from services.notify.settings import DEFAULT_RECIPIENTS_FILE

REGISTRY = default_registry()
BOOK = RecipientBook.load(DEFAULT_RECIPIENTS_FILE, REGISTRY)
LEAD_OFFICE = BOOK.get("yaohai-lead-office")
CASE = uuid.UUID("01a20000-0000-7000-8000-000000000001")
OCCURRED = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=80).filter(
    lambda s: s.strip() == s and s
)


def escalated(actor: Actor, reason: str = "涉案金额亿元以上，属重点案件") -> Envelope:
    return seal_event(
        CaseEscalated,
        case_id=CASE,
        seq=3,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=actor,
        payload=EscalatedPayload(
            target=EscalationTarget.LEAD_OFFICE, target_jurisdiction="340102", reason=reason, rule="key-case"
        ),
        correlation_id=uuid.uuid4(),
        occurred_at=OCCURRED,
    )


def closed(actor: Actor, summary: str = "资金已清退完毕") -> Envelope:
    return seal_event(
        CaseClosed,
        case_id=CASE,
        seq=6,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=actor,
        payload=ClosedPayload(
            outcome=Outcome.FUNDS_RETURNED, summary=summary, recovered_amount_yuan=1_200_000
        ),
        correlation_id=uuid.uuid4(),
        occurred_at=OCCURRED,
    )


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def test_a_place_is_named_from_the_city_down() -> None:
    assert place_name(REGISTRY, "340102L01003") == "合肥市瑶海区龙岗街道大店社区"
    assert place_name(REGISTRY, "640302") == "吴忠市利通区"


def key_case(*reasons: str) -> CaseFacts:
    """The case of ``escalated`` as notify holds it once graded a key case for ``reasons``."""
    return CaseFacts(case_id=CASE, jurisdiction="340102L01003", key_case=True, key_case_reasons=reasons)


def test_an_escalation_notice_names_the_case_place_seq_time_target_and_reason() -> None:
    """Triage words a key-case escalation's reason in English codes; the notice says it in Chinese, from
    the rule and the reasons the case was graded a key case for."""
    assert LEAD_OFFICE is not None
    delivery_id = uuid7()
    by_rule = escalated(Actor(kind="service", id="triage"), "key case: amount_at_least_100m, stability_risk")
    facts = key_case("amount_at_least_100m", "stability_risk")
    notice = render_notice(by_rule, LEAD_OFFICE, REGISTRY, delivery_id, facts=facts)
    text = notice["text"]
    assert text.startswith("【案件上报】")
    for fact in (
        str(CASE),
        "合肥市瑶海区龙岗街道大店社区",
        "第 3 号事件",
        "2026-03-01 09:30:00（北京时间）",
        "合肥市瑶海区处非办",
        "事由：列为重点案件（涉案金额亿元以上、涉稳隐患）",
    ):
        assert fact in text
    assert "key case" not in text and "stability_risk" not in text
    assert notice["delivery_id"] == str(delivery_id)
    assert notice["recipient_id"] == "yaohai-lead-office"
    assert notice["case_id"] == str(CASE) and notice["seq"] == 3 and notice["event_type"] == "escalated"
    assert notice["escalation"]["target"] == "lead_office"
    assert notice["escalation"]["target_jurisdiction_name"] == "合肥市瑶海区"


def test_a_key_case_escalation_is_worded_from_the_case_never_from_the_english_reason() -> None:
    """The English reason stays in the log as triage wrote it; the notice reads the case's reasons (an old
    case folded before notify kept them is named a key case without them)."""
    assert LEAD_OFFICE is not None
    by_rule = escalated(Actor(kind="service", id="triage"), "key case: amount_at_least_100m")
    told = render_notice(by_rule, LEAD_OFFICE, REGISTRY, uuid7(), facts=key_case("cross_region"))["text"]
    assert "事由：列为重点案件（跨区域）" in told and "亿元" not in told
    unknown = render_notice(by_rule, LEAD_OFFICE, REGISTRY, uuid7(), facts=None)["text"]
    assert "事由：列为重点案件\n" in unknown and "亿元" not in unknown and "key case" not in unknown


def test_notify_keeps_the_key_case_reasons_of_every_grade_and_flag_in_order() -> None:
    clue = clue_with_reporter()
    graded = graded_after(clue, key_case_reasons=["amount_at_least_100m", "cross_region"])
    flagged = seal_event(
        KeyCaseFlagged,
        case_id=CASE,
        seq=3,
        prev_hash=graded.hash,
        jurisdiction="340102L01003",
        actor=Actor(kind="officer", id="lead-yaohai-01", role="district_lead_officer"),
        payload=KeyCaseFlaggedPayload(reasons=["cross_region", "stability_risk"], supervising_leader="区长"),
        correlation_id=clue.correlation_id,
    )
    facts = fold(fold(fold(None, clue), graded), flagged)
    assert facts.key_case_reasons == ("amount_at_least_100m", "cross_region", "stability_risk")
    # and kept with a routed event, so a resend words the notice the same (the hashes are not kept there)
    kept = facts_from_document(json.loads(json.dumps(facts_document(facts))))
    assert kept.key_case_reasons == facts.key_case_reasons


def test_a_closure_notice_names_the_outcome_and_recovered_amount() -> None:
    assert LEAD_OFFICE is not None
    notice = render_notice(closed(Actor(kind="officer", id="officer-7")), LEAD_OFFICE, REGISTRY, uuid7())
    assert notice["text"].startswith("【案件办结】")
    assert "资金已清退" in notice["text"] and "1200000 元" in notice["text"]
    assert notice["closure"] == {
        "outcome": "funds_returned",
        "summary": "资金已清退完毕",
        "recovered_amount_yuan": 1200000,
    }


@settings(max_examples=60)
@given(
    actor_id=texts.filter(lambda s: len(s) >= 6), words=texts, kind=st.sampled_from(["reporter", "officer"])
)
def test_no_notice_ever_carries_the_actor_or_any_reporter_field(actor_id: str, words: str, kind: str) -> None:
    assert LEAD_OFFICE is not None
    actor = Actor(kind=kind, id=f"actor:{actor_id}")  # type: ignore[arg-type]
    for event in (escalated(actor, words), closed(actor, words)):
        body = notice_body(render_notice(event, LEAD_OFFICE, REGISTRY, uuid7()))
        assert f"actor:{actor_id}" not in body
        document = json.loads(body)
        assert not keys_of(document) & {"reporter", "actor", "subject", "receipt_digest", "receipt_code"}


def test_a_clue_report_with_a_sealed_reporter_gets_no_notice() -> None:
    assert LEAD_OFFICE is not None
    clue = seal_event(
        ClueReported,
        case_id=CASE,
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=Actor(kind="reporter", id="anon-1"),
        payload=ClueReportedPayload(
            source=ClueSource.GRID_PATROL,
            subject=Subject(kind=SubjectKind.COMPANY, name="某某财富管理有限公司"),
            description="门店宣传保本高息理财",
            reporter=SealedValue(key_id="dev-1", nonce="bm9uY2U=", ciphertext="c2VhbGVk"),
            receipt_digest="a" * 64,
        ),
        correlation_id=uuid.uuid4(),
    )
    assert BOOK.recipients_for(clue) == []
    with pytest.raises(ValueError, match="no notice template"):
        render_notice(clue, LEAD_OFFICE, REGISTRY, uuid7())


def test_the_body_is_compact_json_with_readable_chinese() -> None:
    assert LEAD_OFFICE is not None
    body = notice_body(
        render_notice(escalated(Actor(kind="service", id="triage")), LEAD_OFFICE, REGISTRY, uuid7())
    )
    assert "瑶海区" in body and "\\u" not in body
    assert body == json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def clue_with_reporter(ciphertext: str = "c2VhbGVkLXJlcG9ydGVy") -> Envelope:
    return seal_event(
        ClueReported,
        case_id=CASE,
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=Actor(kind="reporter", id="anon-1"),
        payload=ClueReportedPayload(
            source=ClueSource.GRID_PATROL,
            subject=Subject(kind=SubjectKind.COMPANY, name="某某财富管理有限公司"),
            description="门店宣传保本高息理财",
            sector="wealth_management",
            estimated_amount_yuan=150_000_000,
            participants=420,
            reporter=SealedValue(key_id="dev-1", nonce="bm9uY2U=", ciphertext=ciphertext),
            receipt_digest="b" * 64,
        ),
        correlation_id=uuid.uuid4(),
    )


def graded_after(clue: Envelope, **changes: Any) -> Envelope:
    """Triage's grade of the clue's case: a major key case of 420 participants and 150 million yuan."""
    payload: dict[str, Any] = {
        "grade": Grade.MAJOR,
        "score": 95,
        "factors": [],
        "rule_set": "v1",
        "key_case": True,
        "participants": 420,
        "estimated_amount_yuan": 150_000_000,
    }
    return seal_event(
        CaseAssessed,
        case_id=clue.case_id,
        seq=clue.seq + 1,
        prev_hash=clue.hash,
        jurisdiction=clue.jurisdiction,
        actor=Actor(kind="service", id="triage"),
        payload=AssessedPayload(**(payload | changes)),
        correlation_id=clue.correlation_id,
    )


def test_police_and_lead_office_get_the_subject_sector_money_participants_and_grade_never_the_reporter() -> (
    None
):
    clue = clue_with_reporter()
    assessed = graded_after(clue, responsible_department="财政金融局、人民银行")
    facts = fold(fold(None, clue), assessed)
    police = BOOK.get("yaohai-police")
    assert LEAD_OFFICE is not None and police is not None
    for recipient in (police, LEAD_OFFICE):
        notice = render_notice(
            escalated(Actor(kind="service", id="triage")), recipient, REGISTRY, uuid7(), facts=facts
        )
        text = notice["text"]
        for fact in (
            "某某财富管理有限公司（企业）",
            "第三方财富管理",
            "1.5 亿元",
            "420 人",
            "风险等级：重大（重点案件）",
        ):
            assert fact in text, (recipient.id, fact)
        assert notice["case"]["participants"] == 420 and notice["case"]["grade"] == "major"
        assert notice["case"]["sector_label"] == "第三方财富管理"
        body = notice_body(notice)
        for secret in ("c2VhbGVkLXJlcG9ydGVy", "b" * 64, "anon-1", "reporter"):
            assert secret not in body, (recipient.id, secret)
    assert (
        "请依法审查"
        in render_notice(
            escalated(Actor(kind="service", id="triage")), police, REGISTRY, uuid7(), facts=facts
        )["text"]
    )


def test_the_reporter_is_told_the_stage_and_the_day_only() -> None:
    from services.notify.adapters.notifier import Notifier
    from services.notify.domain.notice import reporter_document, reporter_stage

    transfer = seal_event(
        CaseEscalated,
        case_id=CASE,
        seq=4,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=Actor(kind="officer", id="officer-7"),
        payload=EscalatedPayload(
            target=EscalationTarget.POLICE, target_jurisdiction="340102", reason="涉嫌非法吸收公众存款"
        ),
        correlation_id=uuid.uuid4(),
        occurred_at=OCCURRED,
    )
    document = reporter_document(transfer)
    assert document == {
        "event_type": "escalated",
        "stage": "transferred",
        "stage_label": "已移送公安机关依法处理",
        "on": "2026-03-01",
        "text": "【举报进度】您举报的线索已移送公安机关依法处理（2026-03-01）。",
    }
    assert reporter_stage(escalated(Actor(kind="service", id="triage"))) is None  # to the lead office
    reporters = BOOK.get("anhui-reporters")
    assert reporters is not None
    notifier = Notifier(BOOK, REGISTRY, Templates(), "http://notify.example")
    body = json.loads(
        notifier.event_body(closed(Actor(kind="officer", id="o")), None, reporters, "receipt", uuid7(), False)
    )
    assert set(body) == {"event_type", "stage", "stage_label", "on", "text"}
    assert "资金" not in body["text"] and str(CASE) not in body["text"]


def some_event(cls: type[Envelope], payload: Any, seq: int = 4) -> Envelope:
    return seal_event(
        cls,
        case_id=CASE,
        seq=seq,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=Actor(kind="service", id="triage"),
        payload=payload,
        correlation_id=uuid.uuid4(),
        occurred_at=OCCURRED,
    )


# What a notice may hold in Latin letters: ids and the operator's command, and a receiver's own error.
NOT_WORDS = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|cluetrail notify resend|HTTP [0-9]{3}"
)


def english_in(text: str) -> list[str]:
    return re.findall(r"[A-Za-z_]{2,}", NOT_WORDS.sub("", text))


def test_no_notice_mixes_english_into_its_chinese() -> None:
    """Triage's machine reasons ("key case: stability_risk"), reason codes, channels and event types are
    all said in Chinese, labelled from contracts/labels.py."""
    events = [
        escalated(Actor(kind="service", id="triage"), "key case: stability_risk, cross_region"),
        some_event(
            CaseEscalated,
            EscalatedPayload(
                target=EscalationTarget.OTHER_REGION,
                target_jurisdiction="340422",
                reason="cross-region risk: the case in 340102L01003 involves 340422",
                rule="cross-region",
            ),
        ),
        some_event(
            CaseEscalated,
            EscalatedPayload(
                target=EscalationTarget.LEAD_OFFICE,
                target_jurisdiction="340102",
                reason="determined a suspected crime: the district lead office transfers it to the police",
                rule="suspected-crime",
                level=EscalationLevel.DISTRICT,
                from_jurisdiction="340102L01",
            ),
        ),
        some_event(
            CaseEscalated,
            EscalatedPayload(
                target=EscalationTarget.LEAD_OFFICE,
                target_jurisdiction="340102L01",
                reason="determination disputed: reported up one level to 340102L01, which determines it or "
                "reports it further up",
                rule="disputed-determination",
                level=EscalationLevel.STREET,
                from_jurisdiction="340102L01003",
            ),
        ),
        some_event(
            CaseEscalated,
            EscalatedPayload(
                target=EscalationTarget.POLICE,
                target_jurisdiction="340102",
                reason="determined a suspected crime: transferred to the police (移送公安)",
                rule=None,
                from_jurisdiction="340102L01003",
            ),
        ),
        some_event(
            KeyCaseFlagged,
            KeyCaseFlaggedPayload(
                reasons=["amount_at_least_100m", "stability_risk", "key_case"],
                supervising_leader="区政府分管副区长",
            ),
        ),
        some_event(
            CaseReopened,
            ReopenedPayload(
                reason=f"a new clue about the same subject (case {uuid7()}) after closed",
                trigger=ReopenTrigger.NEW_CLUE,
                linked_case_id=uuid7(),
            ),
        ),
        closed(Actor(kind="officer", id="officer-7")),
    ]
    assert LEAD_OFFICE is not None
    for event in events:
        text = render_notice(event, LEAD_OFFICE, REGISTRY, uuid7())["text"]
        assert english_in(text) == [], (event.type, text)
    notifier = Notifier(BOOK, REGISTRY, Templates(), "https://notify.example.gov.cn")
    dead = seal_notice(
        kind="delivery-dead",
        stream=str(CASE),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102",
        occurred_at=OCCURRED,
        recipients=["yaohai-operations"],
        facts={
            "failed_delivery_id": str(uuid7()),
            "failed_recipient_id": "yaohai-police",
            "failed_recipient_name": "合肥市公安局瑶海分局",
            "failed_channel": "webhook",
            "event_type": "key-case-flagged",
            "seq": 4,
            "reason": "undeliverable after 12 attempts: HTTP 503",
        },
        case_id=CASE,
        causation_id=uuid7(),
        dedupe_key="delivery-dead/test",
    )
    operations = BOOK.get("yaohai-operations")
    assert operations is not None
    text = notifier.document(dead, operations, uuid7(), needs_ack=False)["text"]
    assert (
        "系统接口" in text and "列为重点案件" in text and "连续 12 次投递未成功（最后一次：HTTP 503）" in text
    )
    assert english_in(text) == [], text
