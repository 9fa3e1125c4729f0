"""Who may act on a case (roles per command and state, sector departments) and how subjects are matched
for dedup (normalised names and addresses, credit codes)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluetrail.auth import Principal, Role
from cluetrail.errors import Forbidden
from contracts.vocabulary import CaseStatus, Determination, EscalationLevel, MatchBasis
from services.triage.domain import access
from services.triage.domain.dedup import normalise, subject_keys
from services.triage.domain.state import ClueFacts
from tests.unit.triage_cases import assessed

STREET_COMMANDS = ["determination", "measure", "escalation", "closing"]


@pytest.mark.parametrize("command", STREET_COMMANDS)
def test_street_offices_and_departments_handle_ordinary_cases(command: str) -> None:
    roles = access.roles_for(command, assessed())
    assert set(roles) == {Role.STREET_OFFICER, Role.DISTRICT_LEAD_OFFICER, Role.SECTOR_DEPARTMENT}


@pytest.mark.parametrize("command", STREET_COMMANDS)
@pytest.mark.parametrize(
    "update",
    [
        {
            "status": CaseStatus.ESCALATED,
            "escalated_to": "340102",
            "escalation_level": EscalationLevel.DISTRICT,
        },
        # an escalation written before levels were recorded went to the district lead office
        {"status": CaseStatus.ESCALATED},
        {"status": CaseStatus.TRANSFERRED},
        {"key_case": True},
    ],
    ids=["escalated-to-district", "escalated-v1", "transferred", "key"],
)
def test_cases_reported_to_the_district_transferred_and_key_cases_are_the_lead_offices(
    command: str, update: dict[str, object]
) -> None:
    state = assessed().model_copy(update=update)
    assert access.roles_for(command, state) == (Role.DISTRICT_LEAD_OFFICER,)
    assert access.acting_jurisdiction(state) == state.jurisdiction


@pytest.mark.parametrize("command", STREET_COMMANDS)
def test_a_case_reported_up_to_a_street_is_acted_on_by_the_offices_over_that_street(command: str) -> None:
    state = assessed().model_copy(
        update={
            "status": CaseStatus.ESCALATED,
            "determination": Determination.DISPUTED,
            "escalated_to": "340102L01",
            "escalation_level": EscalationLevel.STREET,
        }
    )
    assert set(access.roles_for(command, state)) == set(access.OFFICE)
    assert access.acting_jurisdiction(state) == "340102L01"  # 华都社区's own office no longer covers it


@pytest.mark.parametrize("command", sorted(access.LEAD_ONLY))
def test_lead_office_commands(command: str) -> None:
    assert access.roles_for(command, assessed()) == (Role.DISTRICT_LEAD_OFFICER,)


@pytest.mark.parametrize("command", sorted(access.POLICE_ONLY))
def test_only_the_police_answer_a_transfer(command: str) -> None:
    assert access.roles_for(command, assessed()) == (Role.POLICE,)


def test_a_sector_department_acts_only_on_cases_routed_to_it() -> None:
    state = assessed().model_copy(update={"responsible_department": "社会事务综合服务中心"})
    own = Principal(
        subject="d1", role=Role.SECTOR_DEPARTMENT, jurisdiction="340102", department="社会事务综合服务中心"
    )
    other = own.model_copy(update={"department": "区投资促进局"})
    access.require_department(own, state)
    with pytest.raises(Forbidden) as refused:
        access.require_department(other, state)
    assert refused.value.rule == "department-routing"
    street = Principal(subject="s1", role=Role.STREET_OFFICER, jurisdiction="340102L01")
    access.require_department(street, state)


names = st.text(alphabet=st.sampled_from("华都康养服务中心理财有限公司ABCabc123"), min_size=1, max_size=20)
noise = st.text(alphabet=st.sampled_from(" \u3000·-（）()、,，."), max_size=5)


@given(names, noise)
def test_normalising_ignores_spacing_punctuation_width_and_case(name: str, extra: str) -> None:
    spaced = extra.join(name) + extra
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    assert normalise(spaced) == normalise(name) == normalise(full_width) == normalise(normalise(name))
    assert normalise(name.upper()) == normalise(name.lower())


def test_subject_keys_prefer_the_credit_code_and_need_an_address_for_the_name() -> None:
    clue = ClueFacts(
        subject_name="某某理财（合肥）有限公司", address="长江东路 1 号", credit_code="91340102MA2N0X1235"
    )
    assert subject_keys(clue, "340102") == [
        ("credit:91340102MA2N0X1235", MatchBasis.CREDIT_CODE),
        ("name:340102:某某理财合肥有限公司|长江东路1号", MatchBasis.NAME_ADDRESS),
    ]
    assert subject_keys(ClueFacts(subject_name="某某理财"), "340102") == []
    same = ClueFacts(subject_name="某某 理财(合肥)有限公司", address="长江东路1号")
    assert subject_keys(same, "340102")[0][0] == subject_keys(clue, "340102")[1][0]
    assert subject_keys(same, "640302")[0][0] != subject_keys(clue, "340102")[1][0]  # another district
