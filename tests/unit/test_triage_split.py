"""分案: a clue linked to 华都康养服务中心's case is split off again. The case gives back the clue's
participants, amount and heat and is graded again (a new ``assessed``), the last clue about its subject
is its own again, and the log replays to the same state.

Grades under triage-rules/2026.2, worked by hand from the table in services/triage/domain/grading.py.
"""

from __future__ import annotations

from contracts.envelope import Envelope
from contracts.events import CaseAssessed, EvidenceRef
from contracts.vocabulary import CaseStatus, Grade, MatchBasis
from services.triage.adapters.rules import bundled_rule_set
from services.triage.domain import workflow
from services.triage.domain.chain import advance, react
from services.triage.domain.decisions import SERVICE_ACTOR, Decision
from services.triage.domain.fold import fold, fold_all
from services.triage.domain.state import CaseState
from tests.unit.triage_cases import LEAD, POLICY, REGISTRY, clue

RULES = bundled_rule_set()
PHOTO = EvidenceRef(sha256="cd" * 32, media_type="image/jpeg", filename="二店门头.jpg", size_bytes=4096)


def run(state: CaseState, *decisions: Decision) -> tuple[CaseState, list[Envelope]]:
    return advance(
        state, decisions, causation_id=None, traceparent=None, rules=RULES, registry=REGISTRY, policy=POLICY
    )


def grade_of(events: list[Envelope]) -> tuple[Grade, int, list[tuple[str, object, int]]]:
    (assessed,) = [e.payload for e in events if isinstance(e, CaseAssessed)]
    factors = [(f.name, f.value, f.points) for f in assessed.factors if f.points or f.name == "linked_clues"]
    return assessed.grade, assessed.score, factors


def test_a_split_clue_takes_its_participants_amount_and_heat_back_and_the_case_is_graded_again() -> None:
    first = clue()
    parent, events = run(fold(None, first))  # type: ignore[arg-type]
    # 120 participants → 20 · 3,000,000 → 20 · elderly care 10: 50, serious
    assert grade_of(events) == (
        Grade.SERIOUS,
        50,
        [
            ("participants", 120, 20),
            ("estimated_amount_yuan", 3_000_000, 20),
            ("linked_clues", 0, 0),
            ("sector", "elderly_care", 10),
        ],
    )

    second = clue(name="华都康养服务中心二店")
    second_state = fold(None, second)
    second_state = second_state.model_copy(
        update={
            "clue": second_state.clue.model_copy(
                update={"participants": 200, "estimated_amount_yuan": 8_000_000}
            ),
            "evidence": (PHOTO,),
        }
    )
    linked, events = run(parent, *workflow.link_clue(parent, second_state, SERVICE_ACTOR, MatchBasis.OFFICER))
    # 320 → 30 · 11,000,000 → 35 · one linked clue 5 · elderly care 10: 80, major
    assert grade_of(events) == (
        Grade.MAJOR,
        80,
        [
            ("participants", 320, 30),
            ("estimated_amount_yuan", 11_000_000, 35),
            ("linked_clues", 1, 5),
            ("sector", "elderly_care", 10),
        ],
    )
    assert linked.clue_evidence == (PHOTO,)
    # the second clue came in later: the quiet period of a write-off runs from it
    later = linked.linked[0].recorded_at
    assert linked.last_clue_at == later

    here, _ = workflow.split(linked, second_state, LEAD, reason="经核实为另一门店，主体不同。")
    after, events = run(linked, here)
    assert [e.type for e in events] == ["split", "assessed"]
    assert events[1].causation_id == events[0].event_id
    # back to its own figures: 50, serious
    assert grade_of(events) == (
        Grade.SERIOUS,
        50,
        [
            ("participants", 120, 20),
            ("estimated_amount_yuan", 3_000_000, 20),
            ("linked_clues", 0, 0),
            ("sector", "elderly_care", 10),
        ],
    )
    assert (after.clue.participants, after.clue.estimated_amount_yuan, after.clue.linked_clues) == (
        120,
        3_000_000,
        0,
    )
    assert (after.grade, after.score, after.status) == (Grade.SERIOUS, 50, CaseStatus.ASSESSED)
    assert after.last_clue_at == after.reported_at != later
    assert after.clue_evidence == ()
    assert react(after, RULES, REGISTRY, POLICY) is None


def test_a_split_of_a_clue_that_gave_no_figures_takes_nothing_off() -> None:
    parent, _ = run(fold(None, clue()))
    silent = fold(None, clue(name="华都康养服务中心三店"))
    silent = silent.model_copy(
        update={"clue": silent.clue.model_copy(update={"participants": None, "estimated_amount_yuan": None})}
    )
    linked, _ = run(parent, *workflow.link_clue(parent, silent, SERVICE_ACTOR, MatchBasis.OFFICER))
    assert (linked.clue.participants, linked.clue.estimated_amount_yuan, linked.score) == (120, 3_000_000, 55)
    here, _ = workflow.split(linked, silent, LEAD, reason="另一主体。")
    after, _ = run(linked, here)
    assert (after.clue.participants, after.clue.estimated_amount_yuan, after.score) == (120, 3_000_000, 50)


def test_the_split_replays_from_the_log_to_the_same_state() -> None:
    first = clue()
    parent, decided = run(fold(None, first))  # type: ignore[arg-type]
    other = fold(None, clue(name="华都康养服务中心四店"))
    linked, more = run(parent, *workflow.link_clue(parent, other, SERVICE_ACTOR, MatchBasis.OFFICER))
    here, _ = workflow.split(linked, other, LEAD, reason="另一主体。")
    after, last = run(linked, here)
    assert fold_all(None, [first, *decided, *more, *last]) == after
