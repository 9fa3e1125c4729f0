"""Who may open a case's sealed reporter identity: the district lead office, and the police once the case
is transferred to them; everyone else gets one and the same refusal."""

from __future__ import annotations

import pytest

from cluetrail.auth import Principal, Role
from cluetrail.errors import Forbidden
from services.triage.domain import access
from tests.unit.triage_cases import assessed, transferred


def principal(role: Role, jurisdiction: str = "340102") -> Principal:
    return Principal(subject=f"{role.value}-1", role=role, jurisdiction=jurisdiction)


def test_the_lead_office_and_the_police_of_a_transferred_case_may_open_the_reporter() -> None:
    state = assessed()
    assert (
        access.require_reporter_reader(principal(Role.DISTRICT_LEAD_OFFICER), state, can_read=True) is state
    )
    police = principal(Role.POLICE)
    with pytest.raises(Forbidden):
        access.require_reporter_reader(police, state, can_read=True)
    moved, _ = transferred()
    assert access.require_reporter_reader(police, moved, can_read=True) is moved


@pytest.mark.parametrize(
    "role", [Role.STREET_OFFICER, Role.GRID_WORKER, Role.AUDITOR, Role.SECTOR_DEPARTMENT]
)
def test_everyone_else_gets_the_same_refusal(role: Role) -> None:
    refusals = []
    for state in (assessed(), assessed(reporter=False), None):
        with pytest.raises(Forbidden) as refused:
            access.require_reporter_reader(principal(role), state, can_read=True)
        refusals.append((refused.value.reason, refused.value.rule))
    assert len(set(refusals)) == 1


def test_a_lead_office_elsewhere_or_an_unknown_case_gets_the_same_refusal() -> None:
    lead = principal(Role.DISTRICT_LEAD_OFFICER, "340422")
    with pytest.raises(Forbidden) as elsewhere:
        access.require_reporter_reader(lead, assessed(), can_read=False)
    with pytest.raises(Forbidden) as unknown:
        access.require_reporter_reader(lead, None, can_read=False)
    assert (elsewhere.value.reason, elsewhere.value.rule) == (unknown.value.reason, unknown.value.rule)
