"""Reactions and officers' commands: what triage decides for a case, and every transition it refuses."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.envelope import Actor, Envelope
from contracts.events import CaseAssessed, CaseEscalated, KeyCaseFlagged
from contracts.jurisdictions import default_registry
from contracts.vocabulary import CaseStatus, Determination, EscalationTarget, Grade, Outcome, RiskFlag
from services.triage.chain import advance
from services.triage.domain import decisions, workflow
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.grading import RuleSet, load_rule_set
from services.triage.domain.state import CaseState, ClueFacts, fold
from tests.unit.test_triage_fold import clue_event

RULES: RuleSet = load_rule_set(
    resources.files("services.triage").joinpath("triage-rules-2026.1.json").read_text(encoding="utf-8")
)
REGISTRY = default_registry()
YAOHAI = "340102"
OFFICER = "officer-longgang-01"
ACTOR = Actor(kind="officer", id=OFFICER, role="street_officer")


def reported(**clue: object) -> tuple[CaseState, Envelope]:
    event = clue_event(**clue)  # type: ignore[arg-type]
    return fold(None, event), event


def react(state: CaseState, cause: Envelope) -> tuple[CaseState, list[Envelope]]:
    return advance(state, [], causation_id=cause.event_id, traceparent=None, rules=RULES, registry=REGISTRY)


def officer(state: CaseState, decision: decisions.Decision) -> tuple[CaseState, list[Envelope]]:
    return advance(state, [decision], causation_id=None, traceparent=None, rules=RULES, registry=REGISTRY)


def determine(state: CaseState, kind: Determination) -> decisions.Decision:
    return workflow.determine(
        state, ACTOR, determination=kind, basis="现场核查、调取合同与宣传材料。", measures=[]
    )


def close(state: CaseState, outcome: Outcome = Outcome.RECTIFIED) -> decisions.Decision:
    return workflow.close(
        state, ACTOR, outcome=outcome, summary="已责令整改，资金清退完毕。", recovered_amount_yuan=0
    )


def transfer(
    state: CaseState, summary: str | None = "涉嫌非法吸收公众存款，资金去向不明。"
) -> list[decisions.Decision]:
    return workflow.transfer_to_police(state, ACTOR, reason="移送", summary=summary, district=YAOHAI)


def to_lead_office(state: CaseState) -> decisions.Decision:
    return workflow.escalate_to_lead_office(state, ACTOR, reason="上报", district=YAOHAI)


def assessed(**clue: object) -> CaseState:
    state, cause = reported(**clue)
    return react(state, cause)[0]


def test_a_reported_case_is_assessed_and_nothing_more_when_it_is_not_key() -> None:
    state, clue = reported()
    after, events = react(state, clue)
    assert [e.type for e in events] == ["assessed"]
    event = events[0]
    assert isinstance(event, CaseAssessed)
    assert (event.seq, event.prev_hash, event.causation_id) == (2, clue.hash, clue.event_id)
    assert event.correlation_id == clue.correlation_id
    assert (event.actor.kind, event.actor.id) == ("service", "triage")
    assert (after.status, after.grade, after.score, after.last_seq) == (
        CaseStatus.ASSESSED,
        Grade.SERIOUS,
        40,
        2,
    )


def test_a_key_case_is_escalated_to_the_lead_office_of_its_district() -> None:
    state, clue = reported(amount=150_000_000)
    after, events = react(state, clue)
    assert [e.type for e in events] == ["assessed", "escalated", "key-case-flagged"]
    escalation = events[1]
    assert isinstance(escalation, CaseEscalated)
    assert escalation.payload.target == EscalationTarget.LEAD_OFFICE
    assert escalation.payload.target_jurisdiction == YAOHAI  # 华都社区 → 龙岗街道 → 瑶海区
    assert escalation.payload.rule == "key-case"
    assert escalation.causation_id == clue.event_id
    assert (after.status, after.key_case, after.last_seq) == (CaseStatus.ESCALATED, True, 4)
    flag = events[2]
    assert isinstance(flag, KeyCaseFlagged)
    assert flag.payload.supervising_leader == "区政府分管副区长"
    assert flag.payload.reasons == ["amount_at_least_100m"]
    assert flag.payload.trial_and_return_by is None  # no deadlines before the police file the case


def test_a_cross_region_case_is_announced_to_every_region_involved() -> None:
    state, clue = reported()
    state = state.model_copy(
        update={"clue": state.clue.model_copy(update={"regions_involved": ("640302", "3704GX")})}
    )
    after, events = react(state, clue)
    escalations = [e.payload for e in events if isinstance(e, CaseEscalated)]
    assert [(p.target, p.target_jurisdiction, p.rule) for p in escalations] == [
        (EscalationTarget.LEAD_OFFICE, YAOHAI, "key-case"),
        (EscalationTarget.OTHER_REGION, "640302", "cross-region"),
        (EscalationTarget.OTHER_REGION, "3704GX", "cross-region"),
    ]
    assert after.last_seq == 6  # and the key-case flag


def test_reacting_again_to_a_settled_state_decides_nothing() -> None:
    state, clue = reported(amount=150_000_000, flags=(RiskFlag.CROSS_REGION,))
    after, events = react(state, clue)
    assert len(events) == 3
    assert react(after, clue) == (after, [])
    assert decisions.next_reaction(after, RULES, REGISTRY) is None
    assert workflow.workflow_reaction(after, workflow.WorkflowPolicy()) is None


def test_suspected_crime_goes_to_the_police_of_the_district() -> None:
    state = assessed()
    after, events = officer(state, determine(state, Determination.SUSPECTED_CRIME))
    assert [e.type for e in events] == ["determined", "escalated", "referral-packaged"]
    police = events[1]
    assert isinstance(police, CaseEscalated)
    assert (police.payload.target, police.payload.target_jurisdiction) == (EscalationTarget.POLICE, YAOHAI)
    assert police.causation_id == events[0].event_id
    assert (events[0].actor.kind, events[0].actor.id) == ("officer", OFFICER)
    assert after.status == CaseStatus.TRANSFERRED
    assert after.police is not None and after.police.referral_seq == 5


def test_a_disputed_determination_goes_up_level_by_level_to_the_lead_office() -> None:
    state = assessed()
    _, events = officer(state, determine(state, Determination.DISPUTED))
    assert [(e.type, getattr(getattr(e, "payload", None), "rule", None)) for e in events] == [
        ("determined", None),
        ("escalated", "disputed-determination"),
        ("escalated", "disputed-determination"),
    ]
    street, district = (e.payload.target_jurisdiction for e in events[1:] if isinstance(e, CaseEscalated))
    assert (REGISTRY.get(street).level, district) == ("street", YAOHAI)


def test_other_determinations_put_the_case_under_disposal() -> None:
    state = assessed()
    after, events = officer(state, determine(state, Determination.GENERAL_VIOLATION))
    assert [e.type for e in events] == ["determined"]
    assert after.status == CaseStatus.UNDER_DISPOSAL


def test_an_officer_escalates_to_the_lead_office_and_then_closes() -> None:
    state = assessed()
    state, events = officer(state, to_lead_office(state))
    assert state.status == CaseStatus.ESCALATED
    assert state.escalations[-1].rule is None
    state, events = officer(state, close(state))
    assert [e.type for e in events] == ["closed"]
    assert (state.status, state.outcome) == (CaseStatus.CLOSED, Outcome.RECTIFIED)


def closed() -> CaseState:
    state = assessed()
    return officer(state, close(state))[0]


def reported_only() -> CaseState:
    return reported()[0]


REFUSED = [
    (
        "determine a closed case",
        closed,
        lambda s: determine(s, Determination.NO_VIOLATION),
        "closed-is-final",
    ),
    ("close a closed case", closed, lambda s: close(s), "closed-is-final"),
    ("transfer a closed case", closed, transfer, "closed-is-final"),
    ("close a case not yet assessed", reported_only, lambda s: close(s), "assess-first"),
    (
        "determine a case not yet assessed",
        reported_only,
        lambda s: determine(s, Determination.NO_VIOLATION),
        "assess-first",
    ),
    ("escalate a case not yet assessed", reported_only, to_lead_office, "assess-first"),
    (
        "close as transferred to police without a transfer",
        assessed,
        lambda s: close(s, Outcome.TRANSFERRED_TO_POLICE),
        "police-outcome-needs-transfer",
    ),
    ("transfer without a summary", assessed, lambda s: transfer(s, summary=None), "transfer-needs-summary"),
]


@pytest.mark.parametrize(("what", "make_state", "command", "rule"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_transitions_name_their_rule(
    what: str, make_state: object, command: object, rule: str
) -> None:
    state = make_state()  # type: ignore[operator]
    with pytest.raises(TransitionRefused) as refused:
        command(state)  # type: ignore[operator]
    assert refused.value.rule == rule
    assert rule in refused.value.reason
    assert refused.value.status_code == 409


def test_the_police_take_a_case_once() -> None:
    state = assessed()
    state, _ = officer(state, determine(state, Determination.SUSPECTED_CRIME))
    with pytest.raises(TransitionRefused) as refused:
        transfer(state)
    assert refused.value.rule in ("police-once", "state-machine")
    # once with the police, the case may close as transferred
    state, _ = officer(state, close(state, Outcome.TRANSFERRED_TO_POLICE))
    assert state.status == CaseStatus.CLOSED


def test_district_of_a_node_above_district_level_is_itself() -> None:
    assert decisions.district_of("340102L01001001", REGISTRY) == YAOHAI
    assert decisions.district_of("340100", REGISTRY) == "340100"


regions = st.sampled_from(["640302", "340422", "3704GX", "3703WC"])


@settings(max_examples=80, deadline=None)
@given(
    participants=st.none() | st.integers(0, 10**5),
    amount=st.none() | st.integers(0, 10**9),
    flags=st.lists(st.sampled_from(RiskFlag), unique=True),
    involved=st.lists(regions, max_size=4),
)
def test_replaying_the_decided_events_settles_the_same_state_with_nothing_left_to_decide(
    participants: int | None, amount: int | None, flags: list[RiskFlag], involved: list[str]
) -> None:
    start, clue = reported()
    start = start.model_copy(
        update={
            "clue": ClueFacts(
                participants=participants,
                estimated_amount_yuan=amount,
                flags=tuple(flags),
                regions_involved=tuple(involved),
            )
        }
    )
    decided, events = react(start, clue)
    key = decided.key_case
    # assessed, then for a key case its escalation and flag, then one notice per region involved
    assert len(events) == 1 + 2 * int(key) + len(set(involved))
    assert [e.seq for e in events] == list(range(2, 2 + len(events)))
    # a database rebuilt from the log folds these events instead of deciding them again
    replayed = start
    for event in events:
        replayed = fold(replayed, event)
    assert replayed == decided
    assert decisions.next_reaction(replayed, RULES, REGISTRY) is None
    assert workflow.workflow_reaction(replayed, workflow.WorkflowPolicy()) is None
