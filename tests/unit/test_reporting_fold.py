"""The reporting fold: a case's events become one ledger row, and only a continuing chain is folded."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import Envelope
from contracts.vocabulary import CaseStatus, Determination, Grade, Outcome
from services.reporting.domain.ledger import (
    UNGRADED,
    ChainBroken,
    LedgerState,
    Step,
    chain_step,
    fold,
    grade_changes,
)
from tests.unit.case_chains import (
    HUADU,
    assessed,
    chain,
    closed,
    determined,
    escalated,
)


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
