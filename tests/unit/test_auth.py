"""Tokens and the jurisdiction rule: who sees and changes what."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pytest

from cluetrail.auth import (
    SERVICE_AUDIENCES,
    AccessPolicy,
    Principal,
    Role,
    Unauthenticated,
    issue_token,
    read_token,
)
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
    assert read_token(SETTINGS, issue_token(SETTINGS, officer), audience="triage") == officer
    forged = jwt.encode(
        {"sub": "x", "role": "auditor", "jurisdiction": "340000"}, "another-secret-of-32-characters!!"
    )
    with pytest.raises(Unauthenticated, match="not valid"):
        read_token(SETTINGS, forged, audience="triage")


def test_an_expired_token_is_refused() -> None:
    token = issue_token(SETTINGS, user(Role.AUDITOR, "340000"), ttl=timedelta(seconds=-1))
    with pytest.raises(Unauthenticated, match="expired"):
        read_token(SETTINGS, token, audience="triage")


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


def signed(claims: dict[str, object]) -> str:
    """A token with exactly ``claims`` (those of a valid one unless changed), signed with the secret."""
    now = int(time.time())
    base: dict[str, object] = {
        "iss": SETTINGS.auth_issuer,
        "aud": ["triage"],
        "sub": "officer-1",
        "iat": now,
        "exp": now + 3600,
        "role": "street_officer",
        "jurisdiction": "340102L01",
    }
    return jwt.encode({**base, **claims}, SETTINGS.auth_secret, algorithm="HS256")


def test_a_token_is_for_the_services_it_names() -> None:
    officer = user(Role.STREET_OFFICER, "340102L01")
    for_reporting = issue_token(SETTINGS, officer, audience="reporting")
    assert read_token(SETTINGS, for_reporting, audience="reporting") == officer
    with pytest.raises(Unauthenticated, match="not for triage") as refused:
        read_token(SETTINGS, for_reporting, audience="triage")
    assert refused.value.rule == "token-audience"
    # By default an officer's token is for every service they use.
    everywhere = issue_token(SETTINGS, officer)
    assert all(read_token(SETTINGS, everywhere, audience=s) == officer for s in SERVICE_AUDIENCES)
    with pytest.raises(Unauthenticated, match="aud"):
        read_token(SETTINGS, signed({"aud": None}), audience="triage")
    with pytest.raises(ValueError, match="audience"):
        issue_token(SETTINGS, officer, audience="elsewhere")


def test_no_token_lives_longer_than_the_maximum() -> None:
    officer = user(Role.STREET_OFFICER, "340102L01")
    assert SETTINGS.auth_token_max_hours == 12
    with pytest.raises(ValueError, match="at most 12 h"):
        issue_token(SETTINGS, officer, ttl=timedelta(hours=13))
    assert read_token(SETTINGS, issue_token(SETTINGS, officer, ttl=timedelta(hours=12)), audience="triage")
    now = int(time.time())
    with pytest.raises(Unauthenticated, match="longer than 12 h") as refused:
        read_token(SETTINGS, signed({"iat": now, "exp": now + 13 * 3600}), audience="triage")
    assert refused.value.rule == "token-lifetime"
    # Issued long ago with a long lifetime: refused too, not only while young.
    with pytest.raises(Unauthenticated, match="longer than"):
        read_token(SETTINGS, signed({"iat": now - 86_400 * 30, "exp": now + 60}), audience="triage")
    shorter = SETTINGS.model_copy(update={"auth_token_max_hours": 1.0})
    with pytest.raises(Unauthenticated, match="longer than 1 h"):
        read_token(shorter, issue_token(SETTINGS, officer), audience="triage")


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": str(int(time.time()) + 3600)},
        {"iat": str(int(time.time()))},
        {"exp": True},
    ],
)
def test_the_times_of_a_token_are_numbers(claims: dict[str, object]) -> None:
    """PyJWT reads ``"exp": "1767225600"`` as a number; a NumericDate is a JSON number (RFC 7519)."""
    with pytest.raises(Unauthenticated, match="is not a number"):
        read_token(SETTINGS, signed(claims), audience="triage")
