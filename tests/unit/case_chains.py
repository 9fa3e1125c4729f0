"""Sealed chains of a case's events for the folds and audits to read: a clue in 华都社区, then triage's
assessment and officers' decisions, each sealed onto the previous event's hash.

Shared by the unit tests of reporting's fold, tables, notices and audits; a test module never imports
another test module's helpers.
"""

from __future__ import annotations

import uuid

from contracts.envelope import GENESIS_HASH, Actor, Envelope, uuid7
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    ClosedPayload,
    ClueReported,
    ClueReportedPayload,
    DeterminedPayload,
    EscalatedPayload,
    Subject,
    seal_event,
)
from contracts.vocabulary import Determination, EscalationTarget, Grade, Outcome

HUADU = "340102L01001"  # 华都社区, 龙岗街道, 瑶海区
OFFICER = Actor(kind="officer", id="officer-7", role="street office")
TRIAGE = Actor(kind="service", id="triage")


def clue(case_id: uuid.UUID, jurisdiction: str = HUADU) -> Envelope:
    """A grid worker's clue about a care home, the first event of the case."""
    return seal_event(
        ClueReported,
        case_id=case_id,
        seq=1,
        prev_hash=GENESIS_HASH,
        jurisdiction=jurisdiction,
        actor=Actor(kind="reporter", id="anon-1"),
        correlation_id=uuid7(),
        payload=ClueReportedPayload(
            source="grid_patrol",
            subject=Subject(kind="shop", name="华都康养服务中心（演示）"),
            description="以预订养老床位为名吸收老年人资金，承诺年化回报18%。",
            sector="elderly_care",
            estimated_amount_yuan=2_000_000,
            participants=120,
            receipt_digest="a" * 64,
        ),
    )


def assessed(grade: Grade = Grade.SERIOUS, key_case: bool = False) -> tuple[type[Envelope], object, Actor]:
    """Triage's grade, as a step of ``chain``."""
    payload = AssessedPayload(
        grade=grade,
        score=61,
        factors=[],
        rule_set="test-1",
        key_case=key_case,
        participants=120,
        estimated_amount_yuan=2_000_000,
    )
    return CaseAssessed, payload, TRIAGE


def determined() -> tuple[type[Envelope], object, Actor]:
    """An officer determines suspected illegal fundraising, as a step of ``chain``."""
    payload = DeterminedPayload(
        determination=Determination.SUSPECTED_ILLEGAL_FUNDRAISING,
        basis="承诺保本付息，向社会不特定对象吸收资金。",
    )
    return CaseDetermined, payload, OFFICER


def escalated() -> tuple[type[Envelope], object, Actor]:
    """An officer escalates to Yaohai's lead office, as a step of ``chain``."""
    payload = EscalatedPayload(
        target=EscalationTarget.LEAD_OFFICE, target_jurisdiction="340102", reason="涉众较大"
    )
    return CaseEscalated, payload, OFFICER


def closed(recovered: int = 350_000) -> tuple[type[Envelope], object, Actor]:
    """An officer closes the case with the funds returned, as a step of ``chain``."""
    payload = ClosedPayload(
        outcome=Outcome.FUNDS_RETURNED, summary="资金已清退。", recovered_amount_yuan=recovered
    )
    return CaseClosed, payload, OFFICER


def chain(*steps: tuple[type[Envelope], object, Actor], jurisdiction: str = HUADU) -> list[Envelope]:
    """A valid chain: the clue, then each step sealed onto the previous event's hash."""
    events = [clue(uuid7(), jurisdiction)]
    for cls, payload, actor in steps:
        last = events[-1]
        events.append(
            seal_event(
                cls,
                case_id=last.case_id,
                seq=last.seq + 1,
                prev_hash=last.hash,
                jurisdiction=jurisdiction,
                actor=actor,
                correlation_id=last.correlation_id,
                causation_id=last.event_id,
                payload=payload,  # type: ignore[arg-type]
            )
        )
    return events
