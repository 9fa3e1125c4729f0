"""Notices across regions, as rules (services/notify/domain/regions.py): 瑶海区 in region anhui escalates a
case to 利通区 in region ningxia; which escalations cross, what ningxia does with each of anhui's notices,
how a refusal by triage's importer is read from its dead letter and alerted once in each region, and which
offices each region's notify tells."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.envelope import GENESIS_HASH, Actor, canonical_bytes, uuid7
from contracts.events import (
    CaseEscalated,
    EscalatedPayload,
    HandoffAccepted,
    HandoffAcceptedPayload,
    seal_event,
)
from contracts.jurisdictions import default_registry
from contracts.notices import Notice, seal_notice
from contracts.regions import RegionRegistry, importer_name, importer_peer, single_region
from contracts.vocabulary import EscalationTarget
from services.notify.adapters.notifier import Notifier
from services.notify.domain.cases import CaseFacts, facts_document, facts_from_document, fold
from services.notify.domain.notice import Templates
from services.notify.domain.recipients import RecipientBook, RecipientsError
from services.notify.domain.refusals import (
    refusal_facts,
    refusal_key,
    refusal_of,
    refusal_places,
    relayed_facts,
    relayed_key,
    relayed_places,
)
from services.notify.domain.regions import (
    CHAIN_REFUSED,
    Here,
    PeerNoticeRefused,
    Reading,
    ack_facts,
    ack_key,
    acknowledgement_of,
    cross_region_facts,
    crossing,
    reading,
    received_facts,
    received_key,
)
from services.notify.settings import DEFAULT_RECIPIENTS_FILE
from tests.dead_letters import importer_dead_letter
from tests.harness import ROOT

REGISTRY = default_registry()
REGIONS = RegionRegistry.load(ROOT / "deploy" / "regions" / "anhui-ningxia.json", REGISTRY)
ANHUI = Here("anhui", REGIONS)
NINGXIA = Here("ningxia", REGIONS)
DADIAN = "340102L01003"  # 合肥市瑶海区龙岗街道大店社区, region anhui
LITONG = "640302"  # 吴忠市利通区, region ningxia
SHOUXIAN = "340422"  # 寿县, region anhui
TRIAGE = Actor(kind="service", id="triage")
BOOK = RecipientBook.load(DEFAULT_RECIPIENTS_FILE, REGISTRY)


def escalation(target: EscalationTarget, where: str, case_id: uuid.UUID | None = None) -> CaseEscalated:
    event = seal_event(
        CaseEscalated,
        case_id=case_id or uuid7(),
        seq=3,
        prev_hash=GENESIS_HASH,
        jurisdiction=DADIAN,
        actor=TRIAGE,
        payload=EscalatedPayload(
            target=target,
            target_jurisdiction=where,
            reason=f"cross-region risk: the case in {DADIAN} involves {where}",
            rule="cross-region",
        ),
        correlation_id=uuid.uuid4(),
    )
    assert isinstance(event, CaseEscalated)
    return event


def test_an_escalation_to_a_place_another_region_serves_crosses_from_the_region_that_wrote_it() -> None:
    to_litong = escalation(EscalationTarget.OTHER_REGION, LITONG)
    assert crossing(to_litong, "anhui", REGIONS) == "ningxia"
    # A copy of anhui's escalation in ningxia's log: ningxia is where it goes, and anhui told it already.
    assert crossing(to_litong, "ningxia", REGIONS) is None
    # 寿县 is anhui's own: a cross-district notice within one region is routed like any escalation.
    assert crossing(escalation(EscalationTarget.OTHER_REGION, SHOUXIAN), "anhui", REGIONS) is None
    # A place no region of the deployment serves (上海市黄浦区) goes nowhere.
    assert crossing(escalation(EscalationTarget.OTHER_REGION, "310101"), "anhui", REGIONS) is None
    assert crossing(escalation(EscalationTarget.POLICE, LITONG), "anhui", REGIONS) is None
    # A deployment of one region: nothing ever crosses.
    assert crossing(to_litong, "local", single_region(REGISTRY)) is None


def cross_region_notice(
    facts: dict[str, Any] | None = None, case_id: uuid.UUID | None = None, seq: int = 1
) -> Notice:
    event = escalation(EscalationTarget.OTHER_REGION, LITONG, case_id)
    case = CaseFacts(case_id=event.case_id, jurisdiction=DADIAN, subject_name="某某财富管理有限公司")
    return seal_notice(
        kind="cross-region",
        stream=str(event.case_id),
        seq=seq,
        prev_hash=GENESIS_HASH,
        jurisdiction=DADIAN,
        occurred_at=event.occurred_at,
        recipients=[],
        facts=facts or cross_region_facts(event, case, REGISTRY, ANHUI, "ningxia"),
        case_id=event.case_id,
        dedupe_key=f"cross-region/{event.event_id}",
    )


def test_a_cross_region_notice_says_who_tells_whom_where_and_why_and_nothing_of_the_reporter() -> None:
    notice = cross_region_notice()
    facts = notice.facts
    assert (facts["from_region"], facts["from_region_name"]) == ("anhui", "安徽省")
    assert (facts["to_region"], facts["to_region_name"]) == ("ningxia", "宁夏回族自治区")
    assert (facts["target_jurisdiction"], facts["target_place"]) == (LITONG, "吴忠市利通区")
    assert facts["reason"] == "跨区域风险：案件涉及吴忠市利通区"
    assert facts["case"]["subject_name"] == "某某财富管理有限公司"
    assert "reporter" not in json.dumps(facts)


def test_what_ningxia_does_with_each_notice_of_anhui() -> None:
    notice = cross_region_notice()
    assert reading(notice, "anhui", "ningxia") is Reading.TELL
    # Addressed to a third region: ningxia only keeps it in anhui's chain.
    assert reading(notice, "anhui", "gansu") is Reading.KEEP
    # anhui's notice cannot speak for another region.
    with pytest.raises(PeerNoticeRefused, match="says it is from region anhui, but it is on region gansu"):
        reading(notice, "gansu", "ningxia")
    reminder = seal_notice(
        kind="reporting-deadline",
        stream=f"reporting-deadline/{DADIAN}",
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=DADIAN,
        occurred_at=datetime(2026, 3, 16, tzinfo=UTC),
        recipients=["dadian-community-office"],
        facts={"period": "2026-03"},
        dedupe_key="reporting-deadline/x",
    )
    assert reading(reminder, "anhui", "ningxia") is Reading.KEEP


def received_in_ningxia(original: Notice) -> Notice:
    """anhui's cross-region notice as ningxia's notify records it received."""
    return seal_notice(
        kind="cross-region-received",
        stream=original.stream,
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=LITONG,
        occurred_at=original.occurred_at,
        recipients=["litong-lead-office"],
        facts=received_facts(original),
        case_id=original.case_id,
        dedupe_key=received_key(original, "anhui"),
    )


def test_ningxia_records_anhuis_notice_received_and_its_acknowledgement_travels_back_to_anhui() -> None:
    original = cross_region_notice()
    facts = received_facts(original)
    assert facts["original_notice_id"] == str(original.notice_id)
    assert (facts["original_stream"], facts["original_seq"], facts["original_hash"]) == (
        original.stream,
        1,
        original.hash,
    )
    assert received_key(original, "anhui") == f"cross-region-received/anhui/{original.dedupe_key}"
    received = received_in_ningxia(original)
    at = datetime(2026, 3, 4, 2, tzinfo=UTC)
    ack = seal_notice(
        kind="cross-region-ack",
        stream=original.stream,
        seq=2,
        prev_hash=received.hash,
        jurisdiction=LITONG,
        occurred_at=at,
        recipients=[],
        facts=ack_facts(received, "litong-lead-office", "利通区处非办", at),
        case_id=original.case_id,
        dedupe_key=ack_key(received, "litong-lead-office"),
    )
    assert ack.dedupe_key == f"cross-region-ack/anhui/{original.dedupe_key}/litong-lead-office"
    assert (ack.facts["from_region"], ack.facts["to_region"]) == ("ningxia", "anhui")
    assert reading(ack, "ningxia", "anhui") is Reading.ACKNOWLEDGED
    found = acknowledgement_of(ack, "ningxia")
    assert (found.notice_id, found.region, found.recipient_id, found.acknowledged_at) == (
        original.notice_id,
        "ningxia",
        "litong-lead-office",
        at,
    )
    unsaid = seal_notice(**{**ack.model_dump(exclude={"notice_id", "recorded_at", "hash", "schema_version"}),
                            "facts": {**ack.facts, "acknowledged_at": "soon"}})  # fmt: skip
    with pytest.raises(PeerNoticeRefused, match="cross-region-ack notice"):
        acknowledgement_of(unsaid, "ningxia")


def forged_event(case_id: uuid.UUID) -> bytes:
    return canonical_bytes(
        {
            "case_id": str(case_id),
            "seq": 5,
            "type": "measure-recorded",
            "event_id": str(uuid7()),
            "hash": "ab" * 32,
            "jurisdiction": DADIAN,
            "payload": {"measure": "warning_interview"},
        }
    )


def test_a_refusal_is_read_from_the_importers_dead_letter_with_its_fault() -> None:
    assert (importer_name("anhui"), importer_peer("triage-import-anhui")) == ("triage-import-anhui", "anhui")
    assert importer_peer("notify") is None and importer_peer("triage-import-") is None
    case_id = uuid7()
    value = forged_event(case_id)
    reason = "chain fork: seq 5 was already recorded with a different hash (measure-recorded, …)"
    refusal = refusal_of(importer_dead_letter(value, reason, key=str(case_id).encode()))
    assert refusal is not None
    assert (refusal.peer, refusal.case_id, refusal.seq, refusal.event_type) == (
        "anhui",
        case_id,
        5,
        "measure-recorded",
    )
    assert refusal.digest == hashlib.sha256(value).hexdigest()
    assert refusal.fault == ("fork", "与本区域已验证的案件记录分叉")
    for words, code in (
        (f"case {case_id} seq 6 (assessed, x) comes from region anhui, but region ningxia writes this case: "
         "a second writer forked its chain", "second-writer"),
        ("chain gap: seq 9 follows seq 6: events 7..8 are missing", "gap"),
        (f"hash mismatch: case {case_id} seq 2 was altered", "altered"),
        ("case x handed from region anhui does not verify at seq 1", "refused"),
    ):  # fmt: skip
        found = refusal_of(importer_dead_letter(value, words))
        assert found is not None and found.fault[0] == code, words
    # Bytes that are not even JSON: the case is the record's key, the digest the bytes'.
    garbage = refusal_of(importer_dead_letter(b"\xff\x00", "not JSON", key=str(case_id).encode()))
    assert garbage is not None and (garbage.case_id, garbage.seq) == (case_id, None)
    assert garbage.digest == hashlib.sha256(b"\xff\x00").hexdigest()
    # Any other consumer's dead letter is no refusal of a peer's event.
    other = importer_dead_letter(value, "reason") | {"consumer": "reporting"}
    assert refusal_of(other) is None
    with pytest.raises(ValueError, match="neither value_text nor value_base64"):
        refusal_of(importer_dead_letter(value, "x") | {"value_text": None, "value_base64": None})
    assert base64.b64decode(importer_dead_letter(b"\xff", "x")["value_base64"]) == b"\xff"


def test_a_refusal_is_alerted_once_in_each_region_to_the_office_that_handles_or_handled_the_case() -> None:
    case_id = uuid7()
    refusal = refusal_of(importer_dead_letter(forged_event(case_id), "chain fork: seq 5 …"))
    assert refusal is not None
    # ningxia holds the case handed in from 大店社区 and accepted by 利通区.
    handed_in = CaseFacts(case_id=case_id, jurisdiction=LITONG, earlier_jurisdictions=(DADIAN,))
    assert NINGXIA.place_here(refusal_places(refusal, handed_in)) == LITONG
    facts = refusal_facts(refusal, NINGXIA, handed_in)
    assert (facts["detected_in"], facts["from_region"], facts["fault"]) == ("ningxia", "anhui", "fork")
    alert = seal_notice(
        kind=CHAIN_REFUSED,
        stream=str(case_id),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=LITONG,
        occurred_at=datetime(2026, 3, 5, tzinfo=UTC),
        recipients=["litong-lead-office"],
        facts=facts,
        case_id=case_id,
        dedupe_key=refusal_key("ningxia", refusal.digest),
    )
    # anhui reads ningxia's alert and alerts the office that handled the case in anhui, under the same key.
    assert reading(alert, "ningxia", "anhui") is Reading.ALERT
    assert relayed_key(alert) == alert.dedupe_key
    handed_out = CaseFacts(case_id=case_id, jurisdiction=LITONG, earlier_jurisdictions=(DADIAN,))
    assert ANHUI.place_here(relayed_places(alert, handed_out)) == DADIAN
    assert ANHUI.place_here(relayed_places(alert, None)) == DADIAN  # as ningxia knew the case
    assert relayed_facts(alert, "ningxia")["relayed_from"] == "ningxia"
    # anhui's relay reaches ningxia in turn: ningxia detected it, so it knows it already.
    relay = seal_notice(**{**alert.model_dump(exclude={"notice_id", "recorded_at", "hash", "schema_version"}),
                           "facts": relayed_facts(alert, "ningxia")})  # fmt: skip
    assert reading(relay, "anhui", "ningxia") is Reading.KEEP
    # A case no place of the region knows: the region's first province.
    assert NINGXIA.place_here([None, DADIAN, "310101"]) == "640000"


def test_a_refusal_names_the_fault_and_the_place_triage_gave_it_before_notify_knows_the_case() -> None:
    """Triage's importer writes the fault as a code and the case's place in its region into the dead letter:
    the alert goes to that place's office even while notify's own facts of the case lag (or it has none),
    and the importer's words are not read."""
    case_id = uuid7()
    details = {"fault": "second-writer", "case_jurisdiction": LITONG}
    refusal = refusal_of(importer_dead_letter(forged_event(case_id), "any words at all", details=details))
    assert refusal is not None
    assert refusal.fault == ("second-writer", "另一区域正在办理该案件，来源区域无权写入（第二写入方）")
    assert NINGXIA.place_here(refusal_places(refusal, None)) == LITONG
    lagging = CaseFacts(case_id=case_id, jurisdiction=DADIAN)  # notify has not seen the handoff yet
    assert refusal_places(refusal, lagging)[:2] == [LITONG, DADIAN]
    assert refusal_facts(refusal, NINGXIA, lagging)["case_places"] == [LITONG, DADIAN]
    unknown = refusal_of(importer_dead_letter(forged_event(case_id), "chain fork", details={"fault": "x"}))
    assert unknown is not None and unknown.fault[0] == "fork"  # an unknown code: the words, as before


def test_a_handed_in_case_remembers_where_it_stood() -> None:
    case_id = uuid7()
    accepted = seal_event(
        HandoffAccepted,
        case_id=case_id,
        seq=5,
        prev_hash="1" * 64,
        jurisdiction=LITONG,
        actor=Actor(kind="officer", id="lead-litong-01", role="district_lead_officer"),
        payload=HandoffAcceptedPayload(
            from_jurisdiction=DADIAN, to_jurisdiction=LITONG, from_region="anhui", to_region="ningxia"
        ),
        correlation_id=case_id,
    )
    before = CaseFacts(case_id=case_id, jurisdiction=DADIAN, last_seq=4, hashes=("0" * 64,) * 3 + ("1" * 64,))
    after = fold(before, accepted)
    assert (after.jurisdiction, after.earlier_jurisdictions) == (LITONG, (DADIAN,))
    # Kept with a routed event (hashes are notify's bookkeeping, not kept there).
    kept = facts_from_document(json.loads(json.dumps(facts_document(after))))
    assert kept.earlier_jurisdictions == (DADIAN,) and kept.jurisdiction == LITONG


def test_each_regions_notify_tells_the_offices_of_its_own_region() -> None:
    anhui, ningxia = BOOK.of_region(REGIONS, "anhui"), BOOK.of_region(REGIONS, "ningxia")
    assert {r.id for r in ningxia} == {"litong-lead-office", "ningxia-reporters"}
    assert "litong-lead-office" not in {r.id for r in anhui} and len(anhui) + len(ningxia) == len(BOOK)
    assert len(BOOK.of_region(single_region(REGISTRY), "local")) == len(BOOK)
    # The offices ningxia tells of anhui's notice to 利通区: those routed escalations to another region.
    told = ningxia.routings_of_cross_region(LITONG)
    assert [(r.recipient.id, r.channels) for r in told] == [("litong-lead-office", ("webhook",))]
    assert anhui.routings_of_cross_region(SHOUXIAN)[0].recipient.id == "shouxian-lead-office"
    # An alert about 大店社区 goes to the lead office of its district.
    assert [r.recipient.id for r in anhui.routings_of_alert(CHAIN_REFUSED, DADIAN)] == ["yaohai-lead-office"]
    assert ningxia.routings_of_alert(CHAIN_REFUSED, "640000") == []  # no provincial office configured
    lead = BOOK.get("yaohai-lead-office")
    assert lead is not None
    crossing_escalation = lead.model_copy(update={"id": "litong-desk", "jurisdiction": LITONG,
                                                  "escalates_to": "yaohai-lead-office"})  # fmt: skip
    with pytest.raises(RecipientsError, match="escalates_to yaohai-lead-office, an office of a place region"):
        RecipientBook([*BOOK, crossing_escalation], REGISTRY).of_region(REGIONS, "ningxia")


def test_the_notices_that_cross_read_in_chinese() -> None:
    ningxia = BOOK.of_region(REGIONS, "ningxia")
    litong = ningxia.get("litong-lead-office")
    assert litong is not None
    original = cross_region_notice()
    received = received_in_ningxia(original)
    notifier = Notifier(ningxia, REGISTRY, Templates(), "http://notify.example")
    document = notifier.document(received, litong, uuid7(), needs_ack=True)
    assert document["text"].startswith(
        f"【跨区域通报】安徽省合肥市瑶海区龙岗街道大店社区通报：案件 {original.case_id} 涉及吴忠市利通区。"
        "事由：跨区域风险：案件涉及吴忠市利通区"
    )
    assert "涉事主体：某某财富管理有限公司" in document["text"] and "确认将回传安徽省" in document["text"]
    assert document["acknowledge_url"].startswith("http://notify.example/v1/deliveries/")
    refusal = refusal_of(importer_dead_letter(forged_event(original.case_id or uuid7()), "chain fork: …"))
    assert refusal is not None
    alert = seal_notice(
        kind=CHAIN_REFUSED,
        stream=original.stream,
        seq=2,
        prev_hash=received.hash,
        jurisdiction=LITONG,
        occurred_at=original.occurred_at,
        recipients=["litong-lead-office"],
        facts=refusal_facts(refusal, NINGXIA, None),
        case_id=original.case_id,
        dedupe_key=refusal_key("ningxia", refusal.digest),
    )
    text = notifier.document(alert, litong, uuid7(), needs_ack=False)["text"]
    assert text.startswith(
        f"【跨区域案件告警】宁夏回族自治区拒收了来自安徽省的案件 {original.case_id} "
        "第 5 号事件（采取处置措施）：与本区域已验证的案件记录分叉。"
    ), text
    relay = seal_notice(**{**alert.model_dump(exclude={"notice_id", "recorded_at", "hash", "schema_version"}),
                           "facts": relayed_facts(alert, "ningxia")})  # fmt: skip
    assert notifier.document(relay, litong, uuid7(), needs_ack=False)["text"].startswith(
        "【跨区域案件告警】宁夏回族自治区通报：宁夏回族自治区拒收了来自安徽省的"
    )
