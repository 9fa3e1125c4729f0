"""Tokens and the jurisdiction rule: who sees and changes what."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from cluetrail.auth import AccessPolicy, Principal, Role, Unauthenticated, issue_token, read_token
from cluetrail.errors import Forbidden
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import default_registry

SETTINGS = CommonSettings()
POLICY = AccessPolicy(default_registry())
DADIAN = "340102L01003"  # 瑶海区龙岗街道大店社区


def user(role: Role, jurisdiction: str) -> Principal:
    return Principal(subject=f"{role.value}-1", role=role, jurisdiction=jurisdiction)


def test_a_token_round_trips_and_a_forged_one_is_refused() -> None:
    officer = user(Role.STREET_OFFICER, "340102L01")
    assert read_token(SETTINGS, issue_token(SETTINGS, officer)) == officer
    forged = jwt.encode(
        {"sub": "x", "role": "auditor", "jurisdiction": "340000"}, "another-secret-of-32-characters!!"
    )
    with pytest.raises(Unauthenticated, match="not valid"):
        read_token(SETTINGS, forged)


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SETTINGS, user(Role.AUDITOR, "340000"), ttl=timedelta(seconds=-1))
    with pytest.raises(Unauthenticated, match="expired"):
        read_token(SETTINGS, token)


def test_officers_act_only_within_their_subtree() -> None:
    street = user(Role.STREET_OFFICER, "340102L01")
    POLICY.require_act(street, DADIAN)
    with pytest.raises(Forbidden, match="jurisdiction"):
        POLICY.require_act(street, "640302")
    district = user(Role.DISTRICT_LEAD_OFFICER, "340102")
    POLICY.require_act(district, DADIAN, Role.DISTRICT_LEAD_OFFICER)
    with pytest.raises(Forbidden, match="roles"):
        POLICY.require_act(street, DADIAN, Role.DISTRICT_LEAD_OFFICER)


def test_auditors_read_everything_and_change_nothing() -> None:
    auditor = user(Role.AUDITOR, "340102")
    assert POLICY.can_read(auditor, "640302")
    with pytest.raises(Forbidden, match="auditors"):
        POLICY.require_act(auditor, DADIAN)


def test_police_see_only_cases_transferred_to_them_in_their_area() -> None:
    police = user(Role.POLICE, "340102")
    assert not POLICY.can_read(police, DADIAN)
    assert POLICY.can_read(police, DADIAN, transferred_to_police=True)
    assert not POLICY.can_read(police, "640302", transferred_to_police=True)


def test_unknown_jurisdictions_are_covered_by_no_one() -> None:
    assert not POLICY.covers(user(Role.DISTRICT_LEAD_OFFICER, "340102"), "999999")


def test_a_district_that_handed_a_case_over_still_reads_it_and_the_police_do_not() -> None:
    shouxian = "340422"  # 寿县 took the case over from 大店社区
    held_by = (DADIAN, shouxian)
    yaohai = user(Role.DISTRICT_LEAD_OFFICER, "340102")
    assert not POLICY.can_read(yaohai, shouxian)
    assert POLICY.can_read_case(yaohai, shouxian, held_by=held_by)
    with pytest.raises(Forbidden, match="jurisdiction"):
        POLICY.require_act(yaohai, shouxian)
    assert not POLICY.can_read_case(user(Role.POLICE, "340102"), shouxian, held_by=held_by)
    assert not POLICY.can_read_case(user(Role.STREET_OFFICER, "640302L01"), shouxian, held_by=held_by)
