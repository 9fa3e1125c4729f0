"""协商办理: 瑶海区 hands a case of 华都社区 to 利通区. Once 利通区 accepts, the case is routed under 利通区's
department table and graded under its rules (a recorded ``assessed``), the offices of 利通区 act on it and
瑶海区 still reads its trail but no longer acts; a handoff still waiting when the case is closed, merged or
written off lapses with it. Both ends record the deployment's region."""

from __future__ import annotations

import pytest

from cluetrail.auth import AccessPolicy, Principal, Role
from cluetrail.errors import Forbidden
from contracts.envelope import Actor, Envelope
from contracts.events import CaseAssessed, HandoffRequested
from contracts.vocabulary import CaseStatus, Determination, EscalationLevel, Grade, MatchBasis, Outcome
from services.triage.adapters.rules import bundled_rule_set
from services.triage.domain import access, workflow, write_off
from services.triage.domain.chain import advance
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.fold import fold, fold_all
from services.triage.domain.state import CaseState
from services.triage.entrypoints.http.commands import authorize
from services.triage.entrypoints.http.reads import readable
from tests.unit.triage_cases import (
    LATER,
    LEAD,
    LONGGANG_HUADU,
    POLICY,
    REGISTRY,
    YAOHAI,
    close,
    clue,
    determine,
)

LITONG = "640302"  # 吴忠市利通区: its own rule file (stricter participant bands, its department table)
RULES = bundled_rule_set()
POLICIES = AccessPolicy(REGISTRY)
YAOHAI_LEAD = Principal(subject="lead-yaohai-01", role=Role.DISTRICT_LEAD_OFFICER, jurisdiction=YAOHAI)
LONGGANG_STREET = Principal(subject="officer-longgang-01", role=Role.STREET_OFFICER, jurisdiction="340102L01")
LITONG_LEAD = Principal(subject="lead-litong-01", role=Role.DISTRICT_LEAD_OFFICER, jurisdiction=LITONG)
LITONG_CIVIL_AFFAIRS = Principal(
    subject="dept-litong-01", role=Role.SECTOR_DEPARTMENT, jurisdiction=LITONG, department="区民政局"
)


def run(state: CaseState, *decisions: Decision) -> tuple[CaseState, list[Envelope]]:
    return advance(
        state, decisions, causation_id=None, traceparent=None, rules=RULES, registry=REGISTRY, policy=POLICY
    )


def offered(state: CaseState) -> CaseState:
    return run(
        state,
        workflow.request_handoff(
            state,
            LEAD,
            to_jurisdiction=LITONG,
            from_district=YAOHAI,
            to_district=LITONG,
            reason="实际经营地与主要参与人均在利通区。",
            region="anhui-1",
        ),
    )[0]


def test_the_receiving_district_routes_and_grades_the_case_again_under_its_own_rules() -> None:
    first = clue(participants=250)
    state, decided = run(fold(None, first))  # type: ignore[arg-type]
    # 瑶海区 (rule set 2026.2 as it stands): 250 → 20 · 3,000,000 → 20 · elderly care 10: 50, serious
    assert (state.grade, state.score, state.responsible_department) == (Grade.SERIOUS, 50, "社会事务中心")
    asked, requested = run(
        state,
        workflow.request_handoff(
            state,
            LEAD,
            to_jurisdiction=LITONG,
            from_district=YAOHAI,
            to_district=LITONG,
            reason="实际经营地在利通区。",
            region="anhui-1",
            to_region="ningxia-1",
        ),
    )
    (request,) = requested
    assert isinstance(request, HandoffRequested)
    assert (request.payload.from_region, request.payload.to_region) == ("anhui-1", "ningxia-1")
    taken, events = run(asked, workflow.answer_handoff(asked, LEAD, accept=True, text="利通区处非办接办。"))
    assert [(e.type, e.jurisdiction) for e in events] == [("handoff-accepted", LITONG), ("assessed", LITONG)]
    assert events[1].causation_id == events[0].event_id
    regraded = events[1]
    assert isinstance(regraded, CaseAssessed)
    # 利通区's file: 250 participants ≥ 200 → 30 · 3,000,000 → 20 · elderly care 10: 60, serious; its table
    # gives elderly care to 区民政局
    assert (regraded.payload.grade, regraded.payload.score) == (Grade.SERIOUS, 60)
    assert (regraded.payload.district, regraded.payload.district_rules, regraded.payload.routing_table) == (
        LITONG,
        "640302/2026.1",
        LITONG,
    )
    assert regraded.payload.responsible_department == "区民政局"
    assert taken.held_by == (LONGGANG_HUADU, LITONG)
    assert workflow.workflow_reaction(taken, POLICY) is None
    assert fold_all(None, [first, *decided, *requested, *events]) == taken

    # 利通区's routed department acts; 瑶海区 reads the trail and acts no more
    authorize(POLICIES, LITONG_CIVIL_AFFAIRS, taken, "measure")
    assert readable(POLICIES, YAOHAI_LEAD, taken) and readable(POLICIES, LONGGANG_STREET, taken)
    assert not readable(POLICIES, YAOHAI_LEAD, taken, former_holders=False)
    for who in (YAOHAI_LEAD, LONGGANG_STREET):
        with pytest.raises(Forbidden) as refused:
            authorize(POLICIES, who, taken, "measure")
        assert refused.value.rule == "jurisdiction-subtree"
    # before the handoff 利通区 could neither read nor act; the police of 瑶海区 read nothing untransferred
    assert not readable(POLICIES, LITONG_LEAD, state)
    police = Principal(subject="police-yaohai-01", role=Role.POLICE, jurisdiction=YAOHAI)
    assert not readable(POLICIES, police, taken)


def test_an_escalated_case_taken_over_waits_on_the_receiving_lead_office() -> None:
    state, _ = run(fold(None, clue()))  # type: ignore[arg-type]
    community = Actor(kind="officer", id="officer-huadu-01", role="street_officer")
    state, _ = run(state, *determine(state, Determination.DISPUTED, actor=community, office=LONGGANG_HUADU))
    assert (state.escalated_to, state.escalation_level) == ("340102L01", EscalationLevel.STREET)
    asked = offered(state)
    taken, _ = run(asked, workflow.answer_handoff(asked, LEAD, accept=True, text=None))
    assert taken.status == CaseStatus.ESCALATED
    assert (taken.escalated_to, access.acting_jurisdiction(taken)) == (None, LITONG)
    assert access.roles_for("determination", taken) == (Role.DISTRICT_LEAD_OFFICER,)
    authorize(POLICIES, LITONG_LEAD, taken, "determination")


def test_a_handoff_still_waiting_lapses_when_the_case_is_closed_merged_or_written_off() -> None:
    state, _ = run(fold(None, clue()))  # type: ignore[arg-type]
    state = run(state, *determine(state, Determination.GENERAL_VIOLATION))[0]
    asked = offered(state)
    assert readable(POLICIES, LITONG_LEAD, asked)

    closed, _ = run(asked, close(asked, Outcome.RECTIFIED))
    other, _ = run(fold(None, clue(name="华都康养服务中心二店")))  # type: ignore[arg-type]
    merged_decision, _ = workflow.merge(asked, other, LEAD, reason="同一主体。", basis=MatchBasis.OFFICER)
    merged, _ = run(asked, merged_decision)
    written_off, _ = run(
        asked,
        write_off.write_off(
            asked,
            LEAD,
            outcome=Outcome.RECTIFIED,
            summary="已整改。",
            recovered_amount_yuan=0,
            claims_handled=120,
            now=LATER,
            policy=POLICY,
        ),
    )
    for final in (closed, merged, written_off):
        assert final.handoff is None
        assert not readable(POLICIES, LITONG_LEAD, final)
        with pytest.raises(TransitionRefused) as refused:
            workflow.answer_handoff(final, LEAD, accept=True, text=None)
        assert refused.value.rule == "closed-is-final"
