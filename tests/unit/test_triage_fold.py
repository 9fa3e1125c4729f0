"""The fold of a case's events: any valid chain folds to its length; a broken link is refused."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import Actor, Envelope
from contracts.events import (
    AssessedPayload,
    CaseAssessed,
    CaseClosed,
    CaseDetermined,
    CaseEscalated,
    ClosedPayload,
    DeterminedPayload,
    EscalatedPayload,
    seal_event,
)
from contracts.vocabulary import (
    CaseStatus,
    Determination,
    EscalationTarget,
    Grade,
    Outcome,
)
from services.triage.domain.errors import OutOfChain
from services.triage.domain.fold import fold, fold_all
from services.triage.domain.state import CaseState
from tests.unit.triage_cases import clue

OFFICER = Actor(kind="officer", id="officer-longgang-01")


PAYLOADS = {
    "assessed": (
        CaseAssessed,
        AssessedPayload(
            grade=Grade.SERIOUS,
            score=50,
            factors=[],
            rule_set="triage-rules/2026.1",
            key_case=False,
            participants=120,
            estimated_amount_yuan=3_000_000,
        ),
    ),
    "determined": (
        CaseDetermined,
        DeterminedPayload(determination=Determination.GENERAL_VIOLATION, basis="现场核查：存在违规宣传。"),
    ),
    "escalated": (
        CaseEscalated,
        EscalatedPayload(
            target=EscalationTarget.LEAD_OFFICE, target_jurisdiction="340102", reason="重大复杂"
        ),
    ),
    "closed": (CaseClosed, ClosedPayload(outcome=Outcome.RECTIFIED, summary="已责令整改并完成清退。")),
}


def next_event(previous: Envelope, kind: str) -> Envelope:
    cls, payload = PAYLOADS[kind]
    return seal_event(
        cls,
        case_id=previous.case_id,
        seq=previous.seq + 1,
        prev_hash=previous.hash,
        jurisdiction=previous.jurisdiction,
        actor=OFFICER,
        payload=payload,
        correlation_id=previous.correlation_id,
        causation_id=previous.event_id,
    )


def chain_of(kinds: list[str]) -> list[Envelope]:
    events = [clue(reporter=False)]
    for kind in kinds:
        events.append(next_event(events[-1], kind))
    return events


kinds = st.lists(st.sampled_from(sorted(PAYLOADS)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(kinds)
def test_folding_any_valid_chain_gives_last_seq_equal_to_its_length(chain_kinds: list[str]) -> None:
    events = chain_of(chain_kinds)
    state = fold_all(None, events)
    assert state is not None
    assert state.last_seq == len(events)
    assert state.last_hash == events[-1].hash
    assert state.escalations == tuple(state.escalations)
    assert len(state.escalations) == chain_kinds.count("escalated")


@settings(max_examples=40, deadline=None)
@given(kinds.filter(bool), st.data())
def test_a_tampered_prev_hash_is_refused(chain_kinds: list[str], data: st.DataObject) -> None:
    events = chain_of(chain_kinds)
    position = data.draw(st.integers(1, len(events) - 1))
    forged = events[position].model_copy(update={"prev_hash": "f" * 64})
    state = fold_all(None, events[:position])
    with pytest.raises(OutOfChain, match="prev_hash"):
        fold(state, forged)


@settings(max_examples=30, deadline=None)
@given(kinds)
def test_a_repeated_identical_last_event_changes_nothing(chain_kinds: list[str]) -> None:
    events = chain_of(chain_kinds)
    state = fold_all(None, events)
    assert fold(state, events[-1]) == state


def test_a_gap_is_refused_and_a_late_copy_of_an_earlier_event_changes_nothing() -> None:
    events = chain_of(["assessed", "determined", "closed"])
    state = fold_all(None, events[:3])
    with pytest.raises(OutOfChain, match=r"seq 5 follows seq 3: events 4\.\.4 are missing"):
        fold(state, events[3].model_copy(update={"seq": 5}))
    # An intake retry puts seq 1 in the log again after triage wrote seq 2 and 3: a duplicate, not a break.
    assert fold(state, events[0]) is state
    assert fold(state, events[1]) is state
    # Another event at a seq already folded is a fork.
    forked = events[1].model_copy(update={"hash": "f" * 64})
    with pytest.raises(OutOfChain, match="seq 2 was already recorded with a different hash"):
        fold(state, forked)


def test_a_case_starts_with_its_clue_at_seq_1() -> None:
    events = chain_of(["assessed"])
    with pytest.raises(OutOfChain, match="starts with assessed"):
        fold(None, events[1])
    with pytest.raises(OutOfChain, match="second clue-reported"):
        fold(fold(None, events[0]), events[0].model_copy(update={"seq": 2, "prev_hash": events[0].hash}))


def test_an_event_of_another_case_is_refused() -> None:
    state = fold(None, clue(reporter=False))
    other = next_event(clue(reporter=False), "assessed")
    with pytest.raises(OutOfChain, match="belongs to case"):
        fold(state, other)


def test_the_status_follows_the_handling_of_the_case() -> None:
    events = chain_of(["assessed", "escalated", "determined", "closed"])
    statuses = []
    state: CaseState | None = None
    for event in events:
        state = fold(state, event)
        statuses.append(state.status)
    assert statuses == [
        CaseStatus.REPORTED,
        CaseStatus.ASSESSED,
        CaseStatus.ESCALATED,
        CaseStatus.UNDER_DISPOSAL,
        CaseStatus.CLOSED,
    ]
    assert state is not None
    assert (state.grade, state.score, state.determination, state.outcome) == (
        Grade.SERIOUS,
        50,
        Determination.GENERAL_VIOLATION,
        Outcome.RECTIFIED,
    )
    assert state.clue.participants == 120
    assert state.clue_event_id == events[0].event_id
    assert isinstance(state.case_id, uuid.UUID)
