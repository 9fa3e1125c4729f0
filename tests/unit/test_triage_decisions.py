"""Reactions and officers' commands: what triage decides for a case, and every transition it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cluetrail.auth import Role
from contracts.api import DeterminationRequest
from contracts.envelope import Actor, Envelope
from contracts.events import CaseAssessed, CaseEscalated, KeyCaseFlagged
from contracts.vocabulary import (
    CaseStatus,
    Determination,
    EscalationLevel,
    EscalationTarget,
    Grade,
    Measure,
    Outcome,
    RiskFlag,
)
from services.triage.domain import access, decisions, workflow
from services.triage.domain.chain import advance
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.fold import fold
from services.triage.domain.state import CaseState, ClueFacts
from tests.unit import triage_cases
from tests.unit.triage_cases import LEAD, REGISTRY, RULES, YAOHAI
from tests.unit.triage_cases import (
    LONGGANG_HUADU as HUADU,  # 华都社区, where this module's clues are reported
)
from tests.unit.triage_cases import STREET_OFFICE as LONGGANG  # 龙岗街道

OFFICER = "officer-longgang-01"
ACTOR = Actor(kind="officer", id=OFFICER, role="street_officer")
COMMUNITY = Actor(kind="officer", id="officer-huadu-01", role="street_officer")


def reported(**clue: object) -> tuple[CaseState, Envelope]:
    event = triage_cases.clue(reporter=False, **clue)  # type: ignore[arg-type]
    return fold(None, event), event


def react(state: CaseState, cause: Envelope) -> tuple[CaseState, list[Envelope]]:
    return advance(state, [], causation_id=cause.event_id, traceparent=None, rules=RULES, registry=REGISTRY)


def officer(
    state: CaseState, decision: decisions.Decision | list[decisions.Decision]
) -> tuple[CaseState, list[Envelope]]:
    decided = decision if isinstance(decision, list) else [decision]
    return advance(state, decided, causation_id=None, traceparent=None, rules=RULES, registry=REGISTRY)


def determine(
    state: CaseState,
    kind: Determination,
    actor: Actor = ACTOR,
    office: str = LONGGANG,
    summary: str | None = None,
) -> list[decisions.Decision]:
    return workflow.determine(
        state,
        actor,
        determination=kind,
        basis="现场核查、调取合同与宣传材料。",
        measures=[],
        office=office,
        registry=REGISTRY,
        summary=summary,
    )


def close(state: CaseState, outcome: Outcome = Outcome.RECTIFIED) -> decisions.Decision:
    return workflow.close(
        state, ACTOR, outcome=outcome, summary="已责令整改，资金清退完毕。", recovered_amount_yuan=0
    )


def transfer(
    state: CaseState, summary: str | None = "涉嫌非法吸收公众存款，资金去向不明。"
) -> list[decisions.Decision]:
    return workflow.transfer_to_police(state, ACTOR, reason="移送", summary=summary, district=YAOHAI)


def to_lead_office(state: CaseState, actor: Actor = ACTOR, office: str = LONGGANG) -> decisions.Decision:
    return workflow.escalate_to_lead_office(state, actor, reason="上报", office=office, registry=REGISTRY)


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


def escalations(events: list[Envelope]) -> list[tuple[str, str, str | None, str | None, str | None]]:
    """(target, target jurisdiction, level, from, rule) of each escalation among ``events``."""
    return [
        (
            e.payload.target.value,
            e.payload.target_jurisdiction,
            e.payload.level.value if e.payload.level else None,
            e.payload.from_jurisdiction,
            e.payload.rule,
        )
        for e in events
        if isinstance(e, CaseEscalated)
    ]


def test_a_street_officers_suspected_crime_goes_to_the_lead_office_which_transfers_it() -> None:
    state = assessed()
    after, events = officer(state, determine(state, Determination.SUSPECTED_CRIME))
    assert [e.type for e in events] == ["determined", "escalated"]
    assert escalations(events) == [("lead_office", YAOHAI, "district", LONGGANG, "suspected-crime")]
    assert events[1].causation_id == events[0].event_id
    assert (after.status, after.police) == (CaseStatus.ESCALATED, None)
    # the case is the lead office's now, and it transfers with a summary
    assert access.roles_for("transfer", after) == (Role.DISTRICT_LEAD_OFFICER,)
    assert access.roles_for("closing", after) == (Role.DISTRICT_LEAD_OFFICER,)
    after, events = officer(after, transfer(after))
    assert [e.type for e in events] == ["escalated", "referral-packaged"]
    assert after.status == CaseStatus.TRANSFERRED


def test_the_lead_offices_suspected_crime_transfers_at_once_with_its_summary() -> None:
    state = assessed()
    with pytest.raises(TransitionRefused) as refused:
        determine(state, Determination.SUSPECTED_CRIME, actor=LEAD, office=YAOHAI)
    assert refused.value.rule == "transfer-needs-summary"
    after, events = officer(
        state,
        determine(state, Determination.SUSPECTED_CRIME, actor=LEAD, office=YAOHAI, summary="资金去向不明。"),
    )
    assert [e.type for e in events] == ["determined", "escalated", "referral-packaged"]
    assert escalations(events) == [("police", YAOHAI, None, HUADU, None)]
    assert [e.causation_id for e in events[1:]] == [events[0].event_id, events[1].event_id]
    assert {e.actor.id for e in events} == {"lead-yaohai-01"}
    assert after.status == CaseStatus.TRANSFERRED
    assert after.police is not None and after.police.referral_seq == 5
    assert events[2].payload.summary == "资金去向不明。"  # type: ignore[attr-defined]


def test_a_dispute_climbs_one_level_at_a_time_and_each_level_may_decide() -> None:
    state = assessed()
    # 华都社区 cannot settle it: reported to 龙岗街道, which now holds it
    state, events = officer(state, determine(state, Determination.DISPUTED, actor=COMMUNITY, office=HUADU))
    assert escalations(events) == [("lead_office", LONGGANG, "street", HUADU, "disputed-determination")]
    assert (state.status, state.escalated_to, access.acting_jurisdiction(state)) == (
        CaseStatus.ESCALATED,
        LONGGANG,
        LONGGANG,
    )
    assert set(access.roles_for("determination", state)) == {
        Role.STREET_OFFICER,
        Role.DISTRICT_LEAD_OFFICER,
        Role.SECTOR_DEPARTMENT,
    }
    # 龙岗街道 cannot either: reported to 瑶海区's lead office, the top
    state, events = officer(state, determine(state, Determination.DISPUTED))
    assert escalations(events) == [("lead_office", YAOHAI, "district", LONGGANG, "disputed-determination")]
    assert access.roles_for("determination", state) == (Role.DISTRICT_LEAD_OFFICER,)
    assert access.acting_jurisdiction(state) == HUADU
    with pytest.raises(TransitionRefused) as refused:
        determine(state, Determination.DISPUTED, actor=LEAD, office=YAOHAI)
    assert refused.value.rule == "lead-office-decides"
    state, events = officer(
        state, determine(state, Determination.GENERAL_VIOLATION, actor=LEAD, office=YAOHAI)
    )
    assert [e.type for e in events] == ["determined"]
    assert state.status == CaseStatus.UNDER_DISPOSAL


def test_a_street_settles_a_dispute_reported_to_it() -> None:
    state = assessed()
    state, _ = officer(state, determine(state, Determination.DISPUTED, actor=COMMUNITY, office=HUADU))
    state, events = officer(state, determine(state, Determination.REGULARISE))
    assert [e.type for e in events] == ["determined"]
    assert (state.status, state.determination) == (CaseStatus.UNDER_DISPOSAL, Determination.REGULARISE)
    assert access.acting_jurisdiction(state) == HUADU


def test_an_officer_reports_up_one_level_and_the_lead_office_is_the_top() -> None:
    state = assessed()
    from_community, events = officer(state, to_lead_office(state, COMMUNITY, HUADU))
    assert escalations(events) == [("lead_office", LONGGANG, "street", HUADU, None)]
    _, events = officer(state, to_lead_office(state))
    assert escalations(events) == [("lead_office", YAOHAI, "district", LONGGANG, None)]
    department = Actor(kind="officer", id="dept-01", role="sector_department")
    _, events = officer(state, to_lead_office(state, department, YAOHAI))
    assert escalations(events) == [("lead_office", YAOHAI, "district", YAOHAI, None)]
    for held in (state, from_community):
        with pytest.raises(TransitionRefused) as refused:
            to_lead_office(held, LEAD, YAOHAI)
        assert refused.value.rule == "escalation-top"
    # a key case goes to the lead office directly, whatever level it was reported at
    key, cause = reported(amount=150_000_000)
    _, events = react(key, cause)
    assert escalations(events) == [("lead_office", YAOHAI, "district", HUADU, "key-case")]


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
    assert state.escalations[-1].level == EscalationLevel.DISTRICT
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
    state, _ = officer(
        state, determine(state, Determination.SUSPECTED_CRIME, actor=LEAD, office=YAOHAI, summary="摘要。")
    )
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


def test_a_determination_names_measures_by_their_codes_and_an_unknown_one_is_refused_by_position() -> None:
    body = {"determination": "general_violation", "basis": "现场核查。", "measures": ["warning_interview"]}
    assert DeterminationRequest.model_validate(body).measures == [Measure.WARNING_INTERVIEW]
    with pytest.raises(ValidationError) as refused:
        DeterminationRequest.model_validate({**body, "measures": ["warning_interview", "约谈"]})
    (error,) = refused.value.errors()
    assert error["loc"] == ("measures", 1)
    assert "rectification_order" in error["msg"]  # it names the codes a measure may be
