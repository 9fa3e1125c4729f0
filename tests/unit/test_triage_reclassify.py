"""An officer's classification (人工定类) overrides the clue's sector and behaviours: folded into the case,
graded again under the rule set in force, routed to the new sector's department; and who may do it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cluetrail.auth import Principal, Role
from cluetrail.errors import Forbidden
from contracts.envelope import Envelope
from contracts.events import CaseAssessed, CaseReclassified, ReclassifiedPayload
from contracts.vocabulary import CaseStatus, Determination
from services.triage.adapters.rules import bundled_rule_set
from services.triage.domain import access, workflow
from services.triage.domain.chain import advance, react
from services.triage.domain.decisions import Decision
from services.triage.domain.errors import TransitionRefused
from services.triage.domain.fold import fold_all
from services.triage.domain.state import CaseState
from services.triage.entrypoints.http.bodies import ReclassificationRequest
from tests.unit.triage_cases import LEAD, REGISTRY, RULES, STREET, STREET_OFFICE, assessed, closed, clue, run


def reclassified(
    state: CaseState, sector: str, behaviours: list[str] | None = None
) -> tuple[CaseState, list]:
    decision = workflow.reclassify(
        state, STREET, sector=sector, behaviours=behaviours or [], reason="走访核实后更正领域。"
    )
    return run(state, decision)


def test_the_officers_sector_replaces_the_clues_and_the_case_is_graded_again() -> None:
    before = assessed()
    assert before.clue.sector == "elderly_care"
    assert before.responsible_department == "社会事务中心"
    after, events = reclassified(before, "commerce_services")
    assert [e.type for e in events][:2] == ["reclassified", "assessed"]
    regrade = events[1]
    assert isinstance(regrade, CaseAssessed)
    assert regrade.payload.sector == "commerce_services"
    assert regrade.payload.sector_source == "officer"
    assert regrade.payload.rule_set == RULES.version
    assert regrade.causation_id == events[0].event_id
    assert after.clue.sector == "commerce_services"
    assert after.clue.classified_by_officer
    assert after.responsible_department == "招商局"
    assert after.classifications == after.assessed_classifications == 1
    assert react(after, RULES, REGISTRY) is None  # settled: no second regrade
    # The case keeps its place in the handling: a regrade does not move it back.
    assert after.status == CaseStatus.ASSESSED


def test_the_officers_behaviours_count_as_their_flags() -> None:
    rules = bundled_rule_set()  # 2026.2: targeting_vulnerable counts as the vulnerable-targets flag

    def graded(state: CaseState, *decisions: Decision) -> tuple[CaseState, list[Envelope]]:
        return advance(state, decisions, causation_id=None, traceparent=None, rules=rules, registry=REGISTRY)

    before, _ = graded(fold_all(None, [clue()]))  # type: ignore[arg-type]
    decision = workflow.reclassify(
        before, STREET, sector="elderly_care", behaviours=["targeting_vulnerable"], reason="针对老年人。"
    )
    after, events = graded(before, decision)
    regrade = events[1]
    assert isinstance(regrade, CaseAssessed)
    assert regrade.payload.rule_set == rules.version
    flag = next(f for f in regrade.payload.factors if f.name == "flag:vulnerable_targets")
    assert flag.value is True and flag.points > 0
    assert after.score is not None and before.score is not None and after.score > before.score
    assert after.clue.behaviours == ("targeting_vulnerable",)


def test_a_reclassification_replays_from_the_log_to_the_same_state() -> None:
    first = clue()
    state, events = run(fold_all(None, [first]))  # type: ignore[arg-type]
    later, more = reclassified(state, "auction")
    assert fold_all(None, [first, *events, *more]) == later


def test_a_reclassification_after_disposal_began_keeps_the_status_and_the_determination() -> None:
    state = assessed()
    state = run(
        state,
        *workflow.determine(
            state,
            STREET,
            determination=Determination.REGULARISE,
            basis="核实。",
            measures=[],
            office=STREET_OFFICE,
            registry=REGISTRY,
        ),
    )[0]
    after, _ = reclassified(state, "commerce_services")
    assert after.status == CaseStatus.UNDER_DISPOSAL
    assert after.determination == Determination.REGULARISE
    assert after.responsible_department == "招商局"


def test_a_closed_case_is_not_reclassified() -> None:
    with pytest.raises(TransitionRefused) as refused:
        workflow.reclassify(closed(), LEAD, sector="auction", behaviours=[], reason="更正。")
    assert refused.value.rule == "closed-is-final"


def test_unknown_taxonomy_codes_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as bad:
        ReclassifiedPayload(sector="no_such_sector", behaviours=[], reason="更正。")
    assert bad.value.errors()[0]["loc"] == ("sector",)
    with pytest.raises(ValidationError) as body:
        ReclassificationRequest(sector="auction", behaviours=["bogus_behaviour"], reason="更正。")
    assert body.value.errors()[0]["loc"] == ("behaviours",)
    assert ReclassificationRequest(sector="auction", behaviours=[], reason="更正。").sector == "auction"


def test_street_offices_departments_and_the_lead_office_reclassify_ordinary_cases() -> None:
    assert set(access.roles_for("reclassification", assessed())) == {
        Role.STREET_OFFICER,
        Role.DISTRICT_LEAD_OFFICER,
        Role.SECTOR_DEPARTMENT,
    }
    escalated = assessed().model_copy(update={"status": CaseStatus.ESCALATED})
    assert access.roles_for("reclassification", escalated) == (Role.DISTRICT_LEAD_OFFICER,)
    routed = assessed()
    own = Principal(
        subject="d1", role=Role.SECTOR_DEPARTMENT, jurisdiction="340102", department="社会事务中心"
    )
    access.require_department(own, routed)
    with pytest.raises(Forbidden):
        access.require_department(own.model_copy(update={"department": "招商局"}), routed)


def test_the_event_carries_the_officer_as_actor() -> None:
    _, events = reclassified(assessed(), "auction")
    event = events[0]
    assert isinstance(event, CaseReclassified)
    assert event.actor == STREET
    assert event.payload.reason == "走访核实后更正领域。"
