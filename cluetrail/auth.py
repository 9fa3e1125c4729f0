"""Officers, roles and what each may see and do: signed access tokens and the jurisdiction rule.

A user belongs to one node of the jurisdiction tree and has one role. Everyone but auditors and police acts
on their own subtree only; police see the cases transferred to them; auditors read everything and change
nothing. Tokens are JWTs signed with HS256 (``CLUETRAIL_AUTH_SECRET``); ``cluetrail token issue`` makes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import jwt
from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cluetrail.errors import Forbidden, RuleViolation
from cluetrail.settings import CommonSettings
from contracts.codes import JurisdictionCode
from contracts.envelope import Actor
from contracts.jurisdictions import JurisdictionRegistry

TOKEN_COOKIE = "cluetrail_token"


class Role(StrEnum):
    """What a user is (用户角色)."""

    GRID_WORKER = "grid_worker"  # 网格员
    STREET_OFFICER = "street_officer"  # 街道/镇 处非办
    DISTRICT_LEAD_OFFICER = "district_lead_officer"  # 区处非办 / 财政金融局
    SECTOR_DEPARTMENT = "sector_department"  # 行业主管部门
    POLICE = "police"  # 公安
    AUDITOR = "auditor"  # 审计、监督: reads everything, changes nothing


class Principal(BaseModel):
    """The user behind a request, as its token says."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1, max_length=128)
    role: Role
    jurisdiction: JurisdictionCode
    department: str | None = Field(default=None, max_length=128, description="For sector departments")
    name: str | None = Field(default=None, max_length=100)

    def as_actor(self) -> Actor:
        """The actor recorded on events this user causes."""
        return Actor(kind="officer", id=self.subject, role=self.role.value)


class Unauthenticated(RuleViolation):
    """No valid token: answered 401."""

    status_code = 401


def issue_token(settings: CommonSettings, principal: Principal, ttl: timedelta = timedelta(hours=12)) -> str:
    now = datetime.now(UTC)
    claims = {
        "iss": settings.auth_issuer,
        "sub": principal.subject,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "role": principal.role.value,
        "jurisdiction": principal.jurisdiction,
        "department": principal.department,
        "name": principal.name,
    }
    return jwt.encode(claims, settings.auth_secret, algorithm="HS256")


def read_token(settings: CommonSettings, token: str) -> Principal:
    """The principal of a valid token; ``Unauthenticated`` with the reason otherwise."""
    try:
        claims = jwt.decode(
            token,
            settings.auth_secret,
            algorithms=["HS256"],
            issuer=settings.auth_issuer,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("the access token has expired", rule="token-expired") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"the access token is not valid: {exc}", rule="token-invalid") from None
    try:
        return Principal(
            subject=claims["sub"],
            role=claims.get("role"),
            jurisdiction=claims.get("jurisdiction"),
            department=claims.get("department"),
            name=claims.get("name"),
        )
    except ValidationError as exc:
        raise Unauthenticated(f"the access token's claims are not valid: {exc.errors()[0]['msg']}") from None


def token_from(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE)


def optional_principal(request: Request) -> Principal | None:
    """FastAPI dependency: the caller if a token came with the request (a bad token is still a 401)."""
    token = token_from(request)
    if token is None:
        return None
    settings: CommonSettings = request.app.state.runtime.settings
    return read_token(settings, token)


def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the authenticated caller, or 401."""
    principal = optional_principal(request)
    if principal is None:
        raise Unauthenticated(
            "this endpoint needs an access token (Authorization: Bearer …)", rule="token-missing"
        )
    return principal


class AccessPolicy:
    """The jurisdiction rule applied to one principal. Refusals never say what exists where."""

    def __init__(self, registry: JurisdictionRegistry) -> None:
        self._registry = registry

    def covers(self, principal: Principal, jurisdiction: str) -> bool:
        """True when ``jurisdiction`` lies in the principal's subtree (unknown codes: never)."""
        return jurisdiction in self._registry and self._registry.is_within(
            jurisdiction, principal.jurisdiction
        )

    def can_read(
        self, principal: Principal, jurisdiction: str, *, transferred_to_police: bool = False
    ) -> bool:
        """Auditors read all; police read what was transferred to them in their area; others their subtree."""
        if principal.role is Role.AUDITOR:
            return True
        if principal.role is Role.POLICE:
            return transferred_to_police and self.covers(principal, jurisdiction)
        return self.covers(principal, jurisdiction)

    def can_read_case(
        self,
        principal: Principal,
        jurisdiction: str,
        *,
        transferred_to_police: bool = False,
        held_by: Iterable[str] = (),
    ) -> bool:
        """``can_read``, and a district that handed the case over still reads its trail (``held_by``: every
        jurisdiction that held it); police read only what was transferred to them."""
        if self.can_read(principal, jurisdiction, transferred_to_police=transferred_to_police):
            return True
        return principal.role is not Role.POLICE and any(self.covers(principal, held) for held in held_by)

    def require_read(
        self, principal: Principal, jurisdiction: str, *, transferred_to_police: bool = False
    ) -> None:
        if not self.can_read(principal, jurisdiction, transferred_to_police=transferred_to_police):
            raise Forbidden("not within your jurisdiction", rule="jurisdiction-subtree")

    def require_act(self, principal: Principal, jurisdiction: str, *roles: Role) -> None:
        """May ``principal`` change a case in ``jurisdiction``? ``roles`` limits who may."""
        if principal.role is Role.AUDITOR:
            raise Forbidden("auditors read and never change", rule="auditor-read-only")
        if roles and principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs one of the roles: {allowed}", rule="role")
        if not self.covers(principal, jurisdiction):
            raise Forbidden("not within your jurisdiction", rule="jurisdiction-subtree")

    def visible_roots(self, principal: Principal) -> list[str] | None:
        """Jurisdiction subtrees a listing may show (None: everything)."""
        return None if principal.role is Role.AUDITOR else [principal.jurisdiction]
