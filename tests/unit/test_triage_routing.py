"""Routing: departments by district table, escalation level by level, and who counts as another region."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.jurisdictions import default_registry
from services.triage.domain.routing import (
    department_for,
    escalation_path,
    next_level_up,
    regions_to_notify,
)

REGISTRY = default_registry()
CODES = [n.code for n in REGISTRY.all()]


@pytest.mark.parametrize(
    ("code", "up"),
    [
        ("340102L01003001", "340102L01003"),  # grid → its community
        ("340102L01003", "340102L01"),  # community → street
        ("340102L01", "340102"),  # street → district lead office
        ("340102", None),  # the lead office is the top
        ("340100", None),
        ("3704GXL02", "3704GX"),  # a zone's street → the zone's lead office
        ("640302L09", "640302"),  # a township → its district
    ],
)
def test_next_level_up(code: str, up: str | None) -> None:
    found = next_level_up(code, REGISTRY)
    assert (found.code if found else None) == up


def test_a_grid_case_climbs_community_street_district() -> None:
    path = [n.name for n in escalation_path("340102L01008001", REGISTRY)]
    assert path == ["琥珀社区", "龙岗街道", "瑶海区"]


@given(st.sampled_from(CODES))
def test_escalation_climbs_strictly_and_ends_at_the_district(code: str) -> None:
    path = escalation_path(code, REGISTRY)
    node = REGISTRY.get(code)
    if node.level in ("province", "city", "district"):
        assert path == []
        return
    assert path[-1].level == "district"
    assert path[-1].code == REGISTRY.nearest(code, "district").code  # type: ignore[union-attr]
    chain = [code, *(n.code for n in path)]
    for lower, upper in itertools.pairwise(chain):
        assert REGISTRY.is_within(lower, upper) and lower != upper


def test_regions_inside_the_case_district_are_not_other_regions() -> None:
    case = "340102L01003"  # 大店社区, 瑶海区
    regions = ["340102", "340102L01005", "640302", "3704GXL01", "640302", "340100"]
    assert regions_to_notify(case, regions, REGISTRY) == ["640302", "3704GXL01", "340100"]


def test_a_region_the_tree_does_not_know_is_another_region() -> None:
    assert regions_to_notify("340102L01003", ["ZZ9999"], REGISTRY) == ["ZZ9999"]


@given(st.sampled_from(CODES), st.lists(st.sampled_from(CODES), max_size=8))
def test_notified_regions_lie_outside_the_district_once_each(case: str, regions: list[str]) -> None:
    found = regions_to_notify(case, regions, REGISTRY)
    assert len(found) == len(set(found))
    own = REGISTRY.nearest(case, "district")
    for region in regions:
        inside = own is not None and REGISTRY.is_within(region, own.code)
        assert (region in found) != inside


def test_department_by_table_else_fallback() -> None:
    table = {"elderly_care": "社会事务综合服务中心"}
    assert department_for("elderly_care", table, "区处非办") == ("社会事务综合服务中心", True)
    assert department_for("education", table, "区处非办") == ("区处非办", True)
    assert department_for(None, table, None) == (None, False)
