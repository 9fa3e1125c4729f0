"""The reporting fold: a case's events become one ledger row, and only a continuing chain is folded."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from contracts.vocabulary import CaseStatus, Determination, EscalationTarget, Grade, Outcome
from services.reporting.domain import (
    UNGRADED,
    ChainBroken,
    LedgerState,
    Step,
    chain_step,
    fold,
    grade_changes,
)

HUADU = "340102L01001"  # 华都社区, 龙岗街道, 瑶海区
OFFICER = Actor(kind="officer", id="officer-7", role="street office")
TRIAGE = Actor(kind="service", id="triage")


def clue(case_id: uuid.UUID, jurisdiction: str = HUADU) -> Envelope:
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
    payload = DeterminedPayload(
        determination=Determination.SUSPECTED_ILLEGAL_FUNDRAISING,
        basis="承诺保本付息，向社会不特定对象吸收资金。",
    )
    return CaseDetermined, payload, OFFICER


def escalated() -> tuple[type[Envelope], object, Actor]:
    payload = EscalatedPayload(
        target=EscalationTarget.LEAD_OFFICE, target_jurisdiction="340102", reason="涉众较大"
    )
    return CaseEscalated, payload, OFFICER


def closed(recovered: int = 350_000) -> tuple[type[Envelope], object, Actor]:
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


def fold_all(events: list[Envelope]) -> dict[uuid.UUID, LedgerState]:
    """What the projector does, without a database: decide, skip repeats, fold."""
    rows: dict[uuid.UUID, LedgerState] = {}
    for event in events:
        state = rows.get(event.case_id)
        if chain_step(state, event) is Step.APPLY:
            rows[event.case_id] = fold(state, event)
    return rows


STEP_MAKERS = st.sampled_from([assessed, determined, escalated, closed])


@settings(max_examples=60, deadline=None)
@given(st.lists(STEP_MAKERS, max_size=12))
def test_any_valid_chain_folds_into_one_row_ending_at_its_last_event(makers: list[Any]) -> None:
    events = chain(*(make() for make in makers))
    rows = fold_all(events)
    assert list(rows) == [events[0].case_id]
    row = rows[events[0].case_id]
    assert row.last_seq == len(events)
    assert row.last_hash == events[-1].hash
    assert row.escalations == sum(1 for e in events if e.type == "escalated")


@settings(max_examples=30, deadline=None)
@given(st.lists(STEP_MAKERS, min_size=1, max_size=8), st.data())
def test_a_repeated_event_changes_nothing(makers: list[Any], data: st.DataObject) -> None:
    events = chain(*(make() for make in makers))
    once = fold_all(events)
    repeat_at = data.draw(st.integers(min_value=1, max_value=len(events)))
    # Redelivery repeats the last event; an outbox republish may repeat an earlier one.
    redelivered = [*events[:repeat_at], events[repeat_at - 1], *events[repeat_at:]]
    state = None
    for event in redelivered:
        known = next((e.hash for e in events if e.seq == event.seq), None)
        step = chain_step(state, event, known)
        if step is Step.APPLY:
            state = fold(state, event)
    assert state == once[events[0].case_id]


def test_a_clue_opens_the_ledger_row_as_reported() -> None:
    (event,) = chain()
    row = fold(None, event)
    assert row.status is CaseStatus.REPORTED
    assert (row.jurisdiction, row.subject_name, row.sector) == (
        HUADU,
        "华都康养服务中心（演示）",
        "elderly_care",
    )
    assert (row.estimated_amount_yuan, row.participants, row.grade, row.key_case) == (
        2_000_000,
        120,
        None,
        False,
    )
    assert row.reported_at == event.recorded_at


def test_statuses_follow_assessment_determination_escalation_and_closing() -> None:
    events = chain(assessed(Grade.MAJOR, key_case=True), determined(), escalated(), escalated(), closed())
    seen = []
    state = None
    for event in events:
        state = fold(state, event)
        seen.append(state.status)
    assert seen == [
        CaseStatus.REPORTED,
        CaseStatus.ASSESSED,
        CaseStatus.UNDER_DISPOSAL,
        CaseStatus.ESCALATED,
        CaseStatus.ESCALATED,
        CaseStatus.CLOSED,
    ]
    assert state is not None
    assert (state.grade, state.score, state.key_case) == (Grade.MAJOR, 61, True)
    assert state.determination is Determination.SUSPECTED_ILLEGAL_FUNDRAISING
    assert (state.escalations, state.outcome, state.recovered_amount_yuan) == (
        2,
        Outcome.FUNDS_RETURNED,
        350_000,
    )


def test_a_gap_in_the_chain_is_refused_naming_the_missing_events() -> None:
    first, _, third = chain(assessed(), determined())
    with pytest.raises(ChainBroken, match=r"events 2\.\.2 are missing"):
        chain_step(fold(None, first), third)


def test_an_event_not_linked_to_the_previous_hash_is_refused() -> None:
    first, _ = chain(assessed())
    (_, foreign_assessed) = chain(assessed())
    moved = foreign_assessed.model_copy(update={"case_id": first.case_id})
    with pytest.raises(ChainBroken, match="prev_hash does not match the hash of seq 1"):
        chain_step(fold(None, first), moved)


def test_a_different_event_at_an_applied_seq_is_refused() -> None:
    first, second = chain(assessed(Grade.LOW))
    (_, other) = chain(assessed(Grade.MAJOR))
    state = fold(fold(None, first), second)
    forged = other.model_copy(update={"case_id": first.case_id})
    with pytest.raises(ChainBroken, match="seq 2 was already recorded with a different hash"):
        chain_step(state, forged)


def test_an_unknown_case_must_start_with_its_clue_at_seq_1() -> None:
    _, second = chain(assessed())
    with pytest.raises(ChainBroken, match=r"seq 2 follows seq 0: events 1\.\.1 are missing"):
        chain_step(None, second)


def test_grade_counts_move_from_ungraded_to_the_assessed_grade_and_stay_on_closing() -> None:
    first, second, third = chain(assessed(Grade.SERIOUS), closed())
    reported = fold(None, first)
    graded = fold(reported, second)
    assert grade_changes(None, reported) == Counter({(HUADU, UNGRADED): 1})
    assert grade_changes(reported, graded) == Counter({(HUADU, UNGRADED): -1, (HUADU, "serious"): 1})
    assert grade_changes(graded, fold(graded, third)) == Counter()
