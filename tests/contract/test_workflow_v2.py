"""``escalated`` v2 (the level reported up to), ``written-off`` v2 (what the write-off relied on),
``clue-linked`` v2 (the clue's evidence) and ``referral-packaged`` v2 (the facts as of the transfer): the
v1 events in the log still read, with what v1 did not record absent, and their stored hashes still verify;
v2 events round-trip byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.chain import verify_chain
from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    CaseEscalated,
    CaseWrittenOff,
    ClueLinked,
    ClueLinkedPayload,
    EscalatedPayload,
    EvidenceRef,
    ReferralFacts,
    ReferralPackaged,
    ReferralPackagedPayload,
    WriteOffBasis,
    WrittenOffPayload,
    event_bytes,
    parse_document,
    read_event,
    seal_event,
)
from contracts.vocabulary import ClueSource, EscalationLevel, EscalationTarget, MatchBasis, Outcome

FIXTURES = Path(__file__).parent / "fixtures"
LINES = (FIXTURES / "case-events-v1.jsonl").read_bytes().splitlines()[:4] + (
    FIXTURES / "case-events-workflow-v1.jsonl"
).read_bytes().splitlines()


def golden(event_type: str) -> bytes:
    return next(line for line in LINES if parse_document(line)["type"] == event_type)


def test_the_golden_chain_still_verifies_as_written() -> None:
    assert verify_chain([parse_document(line) for line in LINES]) == {}


def test_a_v1_escalation_reads_as_v2_without_a_level() -> None:
    raw = golden("escalated")
    event = read_event(raw)
    assert isinstance(event, CaseEscalated) and event.schema_version == 2
    assert parse_document(raw)["schema_version"] == 1
    assert (event.payload.target, event.payload.target_jurisdiction) == (EscalationTarget.POLICE, "340102")
    assert (event.payload.level, event.payload.from_jurisdiction) == (None, None)
    assert event.hash == parse_document(raw)["hash"]


def test_a_v1_write_off_reads_as_v2_with_its_conditions_and_nothing_relied_on() -> None:
    raw = golden("written-off")
    event = read_event(raw)
    assert isinstance(event, CaseWrittenOff) and event.schema_version == 2
    assert event.payload.conditions_met == ["outcome-recorded", "quiet-period"]
    assert event.payload.relied_on is None
    assert event.payload.claims_handled == 120


def test_a_v1_link_reads_as_v2_without_evidence() -> None:
    event = read_event(golden("clue-linked"))
    assert isinstance(event, ClueLinked) and event.schema_version == 2
    assert event.payload.basis == MatchBasis.CREDIT_CODE and event.payload.evidence == []


def test_a_v1_referral_reads_as_v2_without_facts() -> None:
    event = read_event(golden("referral-packaged"))
    assert isinstance(event, ReferralPackaged) and event.schema_version == 2
    assert event.payload.facts is None and event.payload.through_seq == 6


PHOTO = EvidenceRef(sha256="ab" * 32, media_type="image/jpeg", filename="门头照片.jpg", size_bytes=2048)
V2_PAYLOADS = [
    (
        CaseEscalated,
        EscalatedPayload(
            target=EscalationTarget.LEAD_OFFICE,
            target_jurisdiction="340102L01",
            reason="性质认定存在争议，报龙岗街道。",
            rule="disputed-determination",
            level=EscalationLevel.STREET,
            from_jurisdiction="340102L01001",
        ),
    ),
    (
        CaseWrittenOff,
        WrittenOffPayload(
            outcome=Outcome.FUNDS_RETURNED,
            summary="资金清退完毕。",
            recovered_amount_yuan=2_000_000,
            claims_handled=80,
            quiet_period_days=90,
            conditions_met=["result-recorded", "quiet-period", "funds-recovered"],
            relied_on=WriteOffBasis(
                result_seq=3,
                result_type="determined",
                result="regularise",
                last_clue_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
                amount_at_risk_yuan=3_000_000,
            ),
        ),
    ),
    (
        ClueLinked,
        ClueLinkedPayload(
            clue_case_id=uuid7(),
            clue_event_id=uuid7(),
            clue_hash="cd" * 32,
            basis=MatchBasis.NAME_ADDRESS,
            source=ClueSource.HOTLINE_12345,
            participants=30,
            evidence=[PHOTO],
        ),
    ),
    (
        ReferralPackaged,
        ReferralPackagedPayload(
            manifest_sha256="ef" * 32,
            through_seq=3,
            event_count=3,
            evidence=[PHOTO],
            summary="门店吸收老年人资金。",
            facts=ReferralFacts(
                jurisdiction="340102L01001", subject_name="华都康养服务中心", participants=120
            ),
        ),
    ),
]


@pytest.mark.parametrize(("cls", "payload"), V2_PAYLOADS, ids=[c.__name__ for c, _ in V2_PAYLOADS])
def test_v2_events_round_trip_byte_for_byte(cls: type[Envelope], payload: object) -> None:
    event = seal_event(
        cls,
        case_id=uuid7(),
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction="340102L01001",
        actor=Actor(kind="service", id="triage"),
        payload=payload,  # type: ignore[arg-type]
        correlation_id=uuid7(),
    )
    raw = event_bytes(event)
    assert event.schema_version == 2 and read_event(raw) == event and event_bytes(read_event(raw)) == raw
