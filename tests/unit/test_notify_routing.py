"""Who is told: the demo routing of 瑶海区, 寿县 and 利通区, and recipients files that are refused."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseEscalated,
    ClosedPayload,
    EscalatedPayload,
    seal_event,
)
from contracts.jurisdictions import JurisdictionError, default_registry
from contracts.vocabulary import EscalationTarget, Grade, Outcome
from services.notify.bootstrap import load_recipients
from services.notify.domain.recipients import RecipientBook, RecipientsError
from services.notify.domain.signing import new_secret, secret_of
from services.notify.settings import DEFAULT_RECIPIENTS_FILE, NotifySettings

TRIAGE = Actor(kind="service", id="triage")

# A deployment's database, with a password of its own (the development one is refused outside local).
DEPLOYED_DATABASE = "postgresql://cluetrail:own-password@db.example:5432/cluetrail"


def demo_book() -> RecipientBook:
    return RecipientBook.load(DEFAULT_RECIPIENTS_FILE, default_registry())


def escalation(target: EscalationTarget, target_jurisdiction: str, where: str = "340102L01003") -> Envelope:
    return seal_event(
        CaseEscalated,
        case_id=uuid7(),
        seq=3,
        prev_hash=GENESIS_HASH,
        jurisdiction=where,
        actor=TRIAGE,
        payload=EscalatedPayload(
            target=target, target_jurisdiction=target_jurisdiction, reason="涉案金额亿元以上", rule="key-case"
        ),
        correlation_id=uuid.uuid4(),
    )


def closure(where: str) -> Envelope:
    return seal_event(
        CaseClosed,
        case_id=uuid7(),
        seq=5,
        prev_hash=GENESIS_HASH,
        jurisdiction=where,
        actor=Actor(kind="officer", id="officer-7"),
        payload=ClosedPayload(outcome=Outcome.RECTIFIED, summary="已责令整改并验收"),
        correlation_id=uuid.uuid4(),
    )


def told(event: Envelope) -> set[str]:
    """The offices told (the case's reporter, told through the receipt, is tested on its own)."""
    return {r.id for r in demo_book().recipients_for(event) if r.role != "reporter"}


def reporters_told(event: Envelope) -> set[str]:
    return {r.id for r in demo_book().recipients_for(event) if r.role == "reporter"}


def test_a_key_case_in_dadian_community_escalated_to_the_lead_office_reaches_yaohai_lead_office_only() -> (
    None
):
    assert told(escalation(EscalationTarget.LEAD_OFFICE, "340102")) == {"yaohai-lead-office"}


def test_a_transfer_to_police_reaches_the_district_police_only() -> None:
    assert told(escalation(EscalationTarget.POLICE, "340102")) == {"yaohai-police"}


def test_a_cross_region_notice_goes_to_the_office_of_the_region_told() -> None:
    assert told(escalation(EscalationTarget.OTHER_REGION, "340422")) == {"shouxian-lead-office"}
    assert told(escalation(EscalationTarget.OTHER_REGION, "640302")) == {"litong-lead-office"}
    # 利通区 telling 瑶海区: the notice goes to 瑶海, not back to the sender.
    assert told(escalation(EscalationTarget.OTHER_REGION, "340102", where="640302")) == {"yaohai-lead-office"}


def test_a_closure_reaches_the_lead_office_above_the_case_and_not_the_police() -> None:
    assert told(closure("340102L01003001")) == {"yaohai-lead-office"}
    assert told(closure("340422")) == {"shouxian-lead-office"}


def test_a_case_outside_every_configured_jurisdiction_reaches_nobody() -> None:
    assert told(closure("3704GX")) == set()
    assert told(escalation(EscalationTarget.LEAD_OFFICE, "340100")) == set()  # the city is above the district


def test_events_notify_does_not_route_reach_nobody() -> None:
    assessed = seal_event(
        CaseAssessed,
        case_id=uuid7(),
        seq=2,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01003",
        actor=TRIAGE,
        payload=AssessedPayload(
            grade=Grade.MAJOR,
            score=90,
            factors=[],
            rule_set="v1",
            key_case=True,
            participants=None,
            estimated_amount_yuan=None,
        ),
        correlation_id=uuid.uuid4(),
    )
    assert told(assessed) == set()


def test_an_escalation_to_a_jurisdiction_outside_the_tree_cannot_be_routed() -> None:
    event = escalation(EscalationTarget.OTHER_REGION, "110101")
    with pytest.raises(JurisdictionError, match="110101"):
        demo_book().recipients_for(event)


def demo_entries() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(DEFAULT_RECIPIENTS_FILE.read_text(encoding="utf-8"))[
        "recipients"
    ]
    return entries


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e[2].update(id=e[0]["id"]), "recipient yaohai-lead-office .* appears twice"),
        (lambda e: e[6].update(jurisdiction="999999"), "shouxian-lead-office .* jurisdiction 999999"),
        (lambda e: e[7].update(webhook_url="not a url"), r"entry 7 \(litong-lead-office\): webhook_url"),
        (lambda e: e[2].update(secret="short"), r"entry 2 \(yaohai-police\): secrets.0: .*whsec_"),
        (lambda e: e[2].update(secret=secret_of(b"k" * 16)), r"yaohai-police.*24 to 64 bytes, not 16"),
        (lambda e: e[2].update(secrets=[e[2]["secret"]]), r"yaohai-police.*secret.*or.*secrets.*not both"),
        (lambda e: e[2].pop("secret") and e[2].update(secrets=[]), r"yaohai-police.*secrets"),
        (lambda e: e[2].update(secrets=[new_secret()] * 4) or e[2].pop("secret"), r"yaohai-police.*secrets"),
        (lambda e: e[0]["routes"].append({"event": "escalated", "targets": ["mayor"]}), r"entry 0 .*routes"),
        (lambda e: e[0]["routes"].append({"event": "coffee-break"}), r"entry 0 .*routes.9.event"),
        (lambda e: e[0]["routes"].append({"event": "closed", "targets": ["police"]}), "only meaningful"),
        (lambda e: e[6].update(routes=[]), r"entry 6 \(shouxian-lead-office\): routes"),
        (lambda e: e[2].update(unknown_key=1), r"entry 2 \(yaohai-police\): unknown_key"),
        (
            lambda e: e[2]["routes"].append({"event": "closed", "channels": ["email"]}),
            "yaohai-police .* no email",
        ),
        (lambda e: e[0]["routes"].append({"event": "closed", "channels": ["fax"]}), r"entry 0 .*channels"),
        (lambda e: e[5].update(email="not-an-address"), r"entry 5 \(dadian-community-office\): email"),
        (lambda e: e[2].update(escalates_to="mayor-office"), "yaohai-police .* escalates_to mayor-office"),
    ],
)
def test_a_bad_recipients_file_is_refused_naming_the_entry(change: Any, message: str, tmp_path: Path) -> None:
    entries = demo_entries()
    change(entries)
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps({"recipients": entries}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RecipientsError, match=message):
        RecipientBook.load(path, default_registry())


def test_a_recipients_file_that_is_not_the_expected_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "recipients.json"
    path.write_text('[{"id": "x"}]', encoding="utf-8")
    with pytest.raises(RecipientsError, match='"recipients" list'):
        RecipientBook.load(path, default_registry())
    with pytest.raises(RecipientsError, match=r"missing\.json"):
        RecipientBook.load(tmp_path / "missing.json", default_registry())


def test_the_demo_file_holds_only_demo_secrets_so_production_refuses_it() -> None:
    assert sorted(demo_book().with_demo_secrets()) == sorted(e["id"] for e in demo_entries())


def test_production_refuses_to_start_with_demo_secrets() -> None:
    production = NotifySettings(
        environment="production",
        reporter_keys=json.dumps({"prod-1": base64.b64encode(b"p" * 32).decode()}),
        reporter_key_id="prod-1",
        auth_secret="p" * 40,
        database_url=DEPLOYED_DATABASE,
        **{
            "CLUETRAIL_NOTIFY_SMS_GATEWAY_SECRET": secret_of(b"the production gateway's own key"),
            "CLUETRAIL_NOTIFY_RECIPIENTS_FILE": str(DEFAULT_RECIPIENTS_FILE),
        },
    )
    with pytest.raises(RecipientsError, match=r"yaohai-lead-office.*demo secrets"):
        load_recipients(production, default_registry())
    assert len(load_recipients(NotifySettings(), default_registry())) == 12


@pytest.mark.parametrize("environment", ["test", "production"])
def test_outside_local_the_routing_file_must_be_named(environment: str) -> None:
    """The repository's demo routing is no default for a deployment (nor is it in an installed package)."""
    with pytest.raises(
        ValueError, match=f"CLUETRAIL_NOTIFY_RECIPIENTS_FILE is not set: in the {environment}"
    ):
        NotifySettings(
            environment=environment,
            reporter_keys=json.dumps({"prod-1": base64.b64encode(b"p" * 32).decode()}),
            reporter_key_id="prod-1",
            auth_secret="p" * 40,
            database_url=DEPLOYED_DATABASE,
            **{"CLUETRAIL_NOTIFY_SMS_GATEWAY_SECRET": new_secret()},
        )


@pytest.mark.parametrize("environment", ["test", "production"])
def test_outside_local_a_plain_http_webhook_is_refused_naming_the_recipient(
    environment: str, tmp_path: Path
) -> None:
    """A notice carries a case's facts and an acknowledgement link: it never crosses a network in plain
    text. Only this machine's loopback (a TLS relay beside notify, a test receiver) may be http://."""
    entries = demo_entries()
    for entry in entries:
        entry["secret"] = new_secret()
    entries[2]["webhook_url"] = "http://police.yaohai.example.gov.cn/notices"
    entries[6]["webhook_url"] = "https://chufeiban.shouxian.example.gov.cn/notices"
    entries[7]["webhook_url"] = "http://[::1]:8443/notices"
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps({"recipients": entries}, ensure_ascii=False), encoding="utf-8")
    settings = NotifySettings(
        environment=environment,
        reporter_keys=json.dumps({"prod-1": base64.b64encode(b"p" * 32).decode()}),
        reporter_key_id="prod-1",
        auth_secret="p" * 40,
        database_url=DEPLOYED_DATABASE,
        **{
            "CLUETRAIL_NOTIFY_SMS_GATEWAY_SECRET": new_secret(),
            "CLUETRAIL_NOTIFY_RECIPIENTS_FILE": str(path),
        },
    )
    with pytest.raises(RecipientsError, match=r"yaohai-police \(http://police\.yaohai[^)]*\) have a plain"):
        load_recipients(settings, default_registry())
    local = settings.model_copy(update={"environment": "local"})
    assert len(load_recipients(local, default_registry())) == 12
    entries[2]["webhook_url"] = "http://127.0.0.1:8009/yaohai-police"
    path.write_text(json.dumps({"recipients": entries}, ensure_ascii=False), encoding="utf-8")
    assert len(load_recipients(settings, default_registry())) == 12


def test_outside_local_the_sms_gateway_must_be_https_too() -> None:
    with pytest.raises(ValueError, match=r"SMS_GATEWAY_URL http://sms\.example\.gov\.cn/send is plain http"):
        NotifySettings(
            environment="test",
            reporter_keys=json.dumps({"prod-1": base64.b64encode(b"p" * 32).decode()}),
            reporter_key_id="prod-1",
            auth_secret="p" * 40,
            database_url=DEPLOYED_DATABASE,
            **{"CLUETRAIL_NOTIFY_SMS_GATEWAY_URL": "http://sms.example.gov.cn/send"},
        )
    assert NotifySettings(**{"CLUETRAIL_NOTIFY_SMS_GATEWAY_URL": "http://sms.example.gov.cn/send"})


def routed(event: Envelope, department: str | None = None) -> dict[str, tuple[str, ...]]:
    return {r.recipient.id: r.channels for r in demo_book().routings_for(event, department)}


def test_a_police_transfer_reaches_the_police_by_webhook_and_sms_and_the_finance_bureau_by_mail() -> None:
    transfer = escalation(EscalationTarget.POLICE, "340102")
    assert routed(transfer, "财政金融局、人民银行") == {
        "yaohai-police": ("webhook", "sms"),
        "yaohai-finance-bureau": ("email",),
        "anhui-reporters": ("receipt",),
    }
    # A case of another sector is not the finance bureau's business.
    assert routed(transfer, "社会事务中心") == {
        "yaohai-police": ("webhook", "sms"),
        "anhui-reporters": ("receipt",),
    }


def test_reminders_and_alerts_go_to_the_offices_that_asked_for_them() -> None:
    book = demo_book()
    deadline = {r.recipient.id for r in book.routings_of_notice("reporting-deadline", "340102L01003")}
    assert deadline == {"longgang-street-office", "dadian-community-office"}
    street_only = {r.recipient.id for r in book.routings_of_notice("reporting-deadline", "340102L01")}
    assert street_only == {"longgang-street-office"}
    alert = book.routings_of_notice("delivery-dead", "340102L01003")
    assert [(r.recipient.id, r.channels) for r in alert] == [("yaohai-operations", ("webhook", "email"))]


def test_an_unacknowledged_notice_goes_up_one_level() -> None:
    book = demo_book()
    police, street, lead = (
        book.get(i) for i in ("yaohai-police", "longgang-street-office", "yaohai-lead-office")
    )
    assert police is not None and street is not None and lead is not None
    hefei = book.get("hefei-lead-office")
    assert hefei is not None
    assert book.next_level(police) == lead
    assert book.next_level(street) == lead
    assert book.next_level(lead) == hefei  # a lead office answers to the lead office above it
    assert book.next_level(hefei) is None  # no provincial office is configured in the demo


def test_every_route_sends_only_on_channels_the_recipient_has_an_address_for() -> None:
    for recipient in demo_book():
        for route in recipient.routes:
            assert all(recipient.address(c) for c in route.channels), (recipient.id, route.event)


def workflow_event(cls: type[Envelope], payload: Any, where: str = "340102L01003") -> Envelope:
    return seal_event(
        cls,
        case_id=uuid7(),
        seq=6,
        prev_hash=GENESIS_HASH,
        jurisdiction=where,
        actor=Actor(kind="officer", id="officer-7"),
        payload=payload,
        correlation_id=uuid.uuid4(),
    )


def test_the_workflow_events_reach_their_offices_with_a_chinese_text_and_nothing_of_the_reporter() -> None:
    from datetime import UTC, date, datetime

    from contracts.events import (
        CaseReopened,
        CaseWrittenOff,
        HandoffRequested,
        HandoffRequestedPayload,
        KeyCaseFlagged,
        KeyCaseFlaggedPayload,
        PoliceAccepted,
        PoliceAcceptedPayload,
        ReopenedPayload,
        WrittenOffPayload,
    )
    from contracts.vocabulary import ReopenTrigger
    from services.notify.domain.notice import render_notice

    flagged = workflow_event(
        KeyCaseFlagged,
        KeyCaseFlaggedPayload(
            reasons=["amount_over_100m"],
            supervising_leader="区政府分管副区长",
            criminal_filed_on=date(2024, 4, 10),
            trial_and_return_by=date(2026, 4, 10),
        ),
    )
    handoff = workflow_event(
        HandoffRequested,
        HandoffRequestedPayload(
            from_jurisdiction="340102", to_jurisdiction="340422", reason="主要经营地在寿县"
        ),
    )
    accepted = workflow_event(
        PoliceAccepted,
        PoliceAcceptedPayload(
            police_case_number="瑶公经立字〔2026〕12号",
            accepted_at=datetime(2026, 3, 2, tzinfo=UTC),
            police_jurisdiction="340102",
        ),
    )
    written_off = workflow_event(
        CaseWrittenOff,
        WrittenOffPayload(
            outcome=Outcome.FUNDS_RETURNED,
            summary="资金清退完毕",
            recovered_amount_yuan=5_000_000,
            claims_handled=420,
            quiet_period_days=180,
            conditions_met=["funds-returned"],
        ),
    )
    reopened = workflow_event(
        CaseReopened, ReopenedPayload(reason="回头看发现新线索", trigger=ReopenTrigger.LOOK_BACK)
    )

    assert routed(flagged, "财政金融局、人民银行") == {
        "yaohai-lead-office": ("webhook",),
        "yaohai-finance-bureau": ("email",),
    }
    assert routed(handoff) == {"shouxian-lead-office": ("webhook",)}
    assert routed(accepted) == {"yaohai-lead-office": ("webhook",)}
    assert routed(written_off) == {"yaohai-lead-office": ("webhook",), "anhui-reporters": ("receipt",)}
    assert routed(reopened) == {"yaohai-lead-office": ("webhook",), "anhui-reporters": ("receipt",)}

    book = demo_book()
    texts = {}
    for event in (flagged, handoff, accepted, written_off, reopened):
        recipient = next(
            r for r in book.recipients_for(event, "财政金融局、人民银行") if r.role != "reporter"
        )
        notice = render_notice(event, recipient, default_registry(), uuid7())
        assert "officer-7" not in json.dumps(notice, ensure_ascii=False)
        texts[event.type] = notice["text"]
    assert (
        texts["key-case-flagged"].startswith("【重点案件】")
        and "审结清退期限：2026-04-10" in texts["key-case-flagged"]
    )
    assert "合肥市瑶海区" in texts["handoff-requested"] and "淮南市寿县" in texts["handoff-requested"]
    assert "瑶公经立字〔2026〕12号" in texts["police-accepted"]
    assert "资金已清退" in texts["written-off"] and "5000000 元" in texts["written-off"]
    assert texts["reopened"].startswith("【回头看重启】")


def test_the_police_filing_and_the_key_case_flag_set_the_limits_notify_reminds_of() -> None:
    from datetime import UTC, date, datetime

    from contracts.events import KeyCaseFlagged, KeyCaseFlaggedPayload, PoliceAccepted, PoliceAcceptedPayload
    from services.notify.domain.cases import CaseFacts, fold

    accepted = workflow_event(
        PoliceAccepted,
        PoliceAcceptedPayload(
            police_case_number="12",
            accepted_at=datetime(2024, 2, 29, 3, tzinfo=UTC),
            police_jurisdiction="340102",
        ),
    )
    # The case as notify holds it just before the police accepted it.
    before = CaseFacts(
        case_id=accepted.case_id,
        jurisdiction=accepted.jurisdiction,
        last_seq=accepted.seq - 1,
        hashes=("0" * 64,) * (accepted.seq - 2) + (accepted.prev_hash,),
    )
    facts = fold(before, accepted)
    assert (facts.criminal_filed_on, facts.trial_and_return_by, facts.clearance_by) == (
        date(2024, 2, 29),
        date(2026, 2, 28),
        date(2029, 2, 28),
    )
    flagged = seal_event(
        KeyCaseFlagged,
        case_id=accepted.case_id,
        seq=7,
        prev_hash=accepted.hash,
        jurisdiction="340102L01003",
        actor=TRIAGE,
        payload=KeyCaseFlaggedPayload(
            reasons=["filed_3_years"], supervising_leader="区长", supervision_from=date(2027, 3, 1)
        ),
        correlation_id=uuid.uuid4(),
    )
    facts = fold(facts, flagged)
    assert facts.key_case and facts.supervision_from == date(2027, 3, 1)
    assert facts.trial_and_return_by == date(2026, 2, 28)  # kept from the filing


def test_the_reporter_is_told_of_a_police_transfer_and_a_closure_through_the_receipt_only() -> None:
    assert reporters_told(escalation(EscalationTarget.POLICE, "340102")) == {"anhui-reporters"}
    assert reporters_told(closure("340102L01003001")) == {"anhui-reporters"}
    assert reporters_told(closure("3704GX")) == {"shandong-reporters"}
    # Escalations to an office are the offices' business, not the reporter's.
    assert reporters_told(escalation(EscalationTarget.LEAD_OFFICE, "340102")) == set()
    assert reporters_told(escalation(EscalationTarget.OTHER_REGION, "640302")) == set()
    # A case of 利通区 transferred to the police: its own region's reporters, wherever the escalation goes.
    assert reporters_told(escalation(EscalationTarget.POLICE, "640302", where="640302")) == {
        "ningxia-reporters"
    }
    reporter = demo_book().get("anhui-reporters")
    assert reporter is not None
    assert [reporter.address(c) for c in ("webhook", "email", "sms", "receipt")] == [
        None,
        None,
        None,
        "receipt",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda r: r["routes"].append({"event": "key-case-flagged", "channels": ["receipt"]}),
            "told only of",
        ),
        (
            lambda r: r["routes"].append({"event": "escalated", "channels": ["receipt"]}),
            "only when it is to the police",
        ),
        (lambda r: r["routes"].append({"event": "closed", "channels": ["webhook"]}), "receipt channel only"),
        (lambda r: r.update(role="lead_office"), "reaches a reporter only"),
    ],
)
def test_a_reporter_entry_that_would_tell_a_reporter_more_is_refused(
    change: Any, message: str, tmp_path: Path
) -> None:
    entries = demo_entries()
    change(next(e for e in entries if e["id"] == "anhui-reporters"))
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps({"recipients": entries}, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RecipientsError, match=message):
        RecipientBook.load(path, default_registry())


def test_escalations_to_police_and_lead_office_are_acknowledged_and_key_case_notices_by_all() -> None:
    from services.notify.domain.reminders import needs_acknowledgement

    book = demo_book()
    police, lead, bureau, shou, reporters = (
        book.get(i)
        for i in (
            "yaohai-police",
            "yaohai-lead-office",
            "yaohai-finance-bureau",
            "shouxian-lead-office",
            "anhui-reporters",
        )
    )
    assert police and lead and bureau and shou and reporters
    transfer = escalation(EscalationTarget.POLICE, "340102")
    upward = escalation(EscalationTarget.LEAD_OFFICE, "340102")
    notice = escalation(EscalationTarget.OTHER_REGION, "340422")
    # Not a key case: the office the escalation goes to acknowledges; others are informed.
    assert needs_acknowledgement(transfer, False, police)
    assert not needs_acknowledgement(transfer, False, bureau)
    assert needs_acknowledgement(upward, False, lead)
    assert not needs_acknowledgement(notice, False, shou)
    assert not needs_acknowledgement(closure("340102"), False, lead)
    # A key case: everyone told of its escalations acknowledges, the reporter never.
    assert needs_acknowledgement(transfer, True, bureau) and needs_acknowledgement(notice, True, shou)
    assert not needs_acknowledgement(transfer, True, reporters)


def test_an_escalation_one_level_up_reaches_the_office_it_now_waits_on_and_not_the_ones_above(
    tmp_path: Path,
) -> None:
    from contracts.vocabulary import EscalationLevel
    from services.notify.domain.reminders import needs_acknowledgement

    entries = demo_entries()
    street_entry = next(e for e in entries if e["id"] == "longgang-street-office")
    street_entry["routes"].append({"event": "escalated", "targets": ["lead_office"]})
    path = tmp_path / "recipients.json"
    path.write_text(json.dumps({"recipients": entries}, ensure_ascii=False), encoding="utf-8")
    book = RecipientBook.load(path, default_registry())

    def up(level: EscalationLevel, to: str) -> Envelope:
        return seal_event(
            CaseEscalated,
            case_id=uuid7(),
            seq=3,
            prev_hash=GENESIS_HASH,
            jurisdiction="340102L01003",
            actor=TRIAGE,
            payload=EscalatedPayload(
                target=EscalationTarget.LEAD_OFFICE,
                target_jurisdiction=to,
                reason="性质认定存在争议，逐级上报",
                level=level,
                from_jurisdiction="340102L01003",
            ),
            correlation_id=uuid.uuid4(),
        )

    to_street = up(EscalationLevel.STREET, "340102L01")
    assert {r.id for r in book.recipients_for(to_street)} == {"longgang-street-office"}
    assert {r.id for r in book.recipients_for(up(EscalationLevel.DISTRICT, "340102"))} == {
        "yaohai-lead-office"
    }
    street = book.get("longgang-street-office")
    assert street is not None and needs_acknowledgement(to_street, False, street)
    # A v1 escalation (no level) went to the district lead office, and still reaches it.
    assert {r.id for r in book.recipients_for(escalation(EscalationTarget.LEAD_OFFICE, "340102"))} == {
        "yaohai-lead-office"
    }
