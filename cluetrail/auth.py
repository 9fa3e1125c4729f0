"""Officers, roles and what each may see and do: signed access tokens and the jurisdiction rule.

A user belongs to one node of the jurisdiction tree and has one role. Everyone but auditors and police acts
on their own subtree only; police see the cases transferred to them; auditors read everything and change
nothing. Tokens are JWTs signed with HS256 (``CLUETRAIL_AUTH_SECRET``); ``cluetrail token issue`` makes them.

A token names the services it is for (``aud``: service names; each service accepts only tokens naming it)
and lives at most ``CLUETRAIL_AUTH_TOKEN_MAX_HOURS`` (``exp - iat``, both numbers): a longer one is neither
issued nor accepted, so a token leaked from a log or a browser is useless within hours.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cluetrail.errors import Forbidden, RuleViolation
from cluetrail.settings import CommonSettings
from contracts.codes import JurisdictionCode
from contracts.envelope import Actor
from contracts.jurisdictions import JurisdictionRegistry

TOKEN_COOKIE = "cluetrail_token"
# The audiences a token may name: the services that take tokens. An officer's token is usually for all of
# them (act in triage, read in reporting, the delivery log in notify, file clues on patrol in intake); a
# token for one service only (an operator's CLI reading reporting, say) names that one.
SERVICE_AUDIENCES = ("intake", "triage", "reporting", "notify")
REQUIRED_CLAIMS = ("exp", "iat", "sub", "iss", "aud")
# How far ahead of this server's clock a token's issuer's may be.
CLOCK_SKEW_SECONDS = 60
# The name of the token's security scheme in the services' OpenAPI documents.
BEARER_SCHEME = "bearerToken"


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


def max_token_lifetime(settings: CommonSettings) -> timedelta:
    """The longest an access token may live (``CLUETRAIL_AUTH_TOKEN_MAX_HOURS``)."""
    return timedelta(hours=settings.auth_token_max_hours)


def issue_token(
    settings: CommonSettings,
    principal: Principal,
    ttl: timedelta | None = None,
    audience: str | Sequence[str] = SERVICE_AUDIENCES,
) -> str:
    """A signed token for ``principal``, valid for ``ttl`` (the maximum lifetime when None) at the services
    named by ``audience``. A lifetime over the maximum or an unknown service is refused (ValueError)."""
    lifetime = max_token_lifetime(settings) if ttl is None else ttl
    if lifetime > max_token_lifetime(settings):
        raise ValueError(
            f"a token may live at most {settings.auth_token_max_hours:g} h (CLUETRAIL_AUTH_TOKEN_MAX_HOURS), "
            f"not {lifetime.total_seconds() / 3600:g} h"
        )
    audiences = [audience] if isinstance(audience, str) else list(audience)
    unknown = [a for a in audiences if a not in SERVICE_AUDIENCES]
    if unknown or not audiences:
        raise ValueError(f"a token's audience is one or more of {', '.join(SERVICE_AUDIENCES)}: {unknown}")
    now = datetime.now(UTC)
    claims = {
        "iss": settings.auth_issuer,
        "aud": audiences,
        "sub": principal.subject,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
        "role": principal.role.value,
        "jurisdiction": principal.jurisdiction,
        "department": principal.department,
        "name": principal.name,
    }
    return jwt.encode(claims, settings.auth_secret, algorithm="HS256")


def _numeric_date(claims: dict[str, object], name: str) -> float:
    """A NumericDate claim (RFC 7519 §2): a JSON number. PyJWT reads ``"9999999999"`` as a number too."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(f"the access token's {name} is not a number", rule="token-invalid")
    return float(value)


def read_token(settings: CommonSettings, token: str, *, audience: str) -> Principal:
    """The principal of a valid token for the service ``audience``; ``Unauthenticated`` with the reason
    otherwise (signature, issuer, audience, expiry, a lifetime over the maximum, claims)."""
    try:
        # The times are checked below, as numbers: PyJWT would read "exp": "9999999999" or true as one.
        claims = jwt.decode(
            token,
            settings.auth_secret,
            algorithms=["HS256"],
            issuer=settings.auth_issuer,
            audience=audience,
            options={"require": [*REQUIRED_CLAIMS], "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidAudienceError:
        raise Unauthenticated(f"the access token is not for {audience}", rule="token-audience") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(f"the access token is not valid: {exc}", rule="token-invalid") from None
    issued, expires = _numeric_date(claims, "iat"), _numeric_date(claims, "exp")
    now = time.time()
    if expires <= now:
        raise Unauthenticated("the access token has expired", rule="token-expired")
    if issued > now + CLOCK_SKEW_SECONDS:
        raise Unauthenticated("the access token is issued in the future", rule="token-invalid")
    if expires - issued > max_token_lifetime(settings).total_seconds():
        raise Unauthenticated(
            f"the access token lives longer than {settings.auth_token_max_hours:g} h", rule="token-lifetime"
        )
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


# Declares the bearer token in the OpenAPI document of every operation depending on a principal; the
# token itself is read by ``token_from`` (the header, or the dashboard's cookie).
_bearer = HTTPBearer(
    scheme_name=BEARER_SCHEME,
    bearerFormat="JWT",
    description="An officer's access token (`cluetrail token issue`) naming this service in its audience",
    auto_error=False,
)
DeclaredBearer = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def optional_principal(request: Request, _declared: DeclaredBearer = None) -> Principal | None:
    """FastAPI dependency: the caller if a token came with the request (a bad token is still a 401)."""
    token = token_from(request)
    if token is None:
        return None
    runtime = request.app.state.runtime
    return read_token(runtime.settings, token, audience=runtime.name)


def current_principal(request: Request, _declared: DeclaredBearer = None) -> Principal:
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
        offered_to: str | None = None,
    ) -> bool:
        """``can_read``, and a district that handed the case over still reads its trail (``held_by``: every
        jurisdiction that held it), and the district lead office a handoff waits on reads the case it is
        asked to take over (``offered_to``); police read only what was transferred to them."""
        if self.can_read(principal, jurisdiction, transferred_to_police=transferred_to_police):
            return True
        if principal.role is Role.POLICE:
            return False
        if (
            offered_to is not None
            and principal.role is Role.DISTRICT_LEAD_OFFICER
            and self.covers(principal, offered_to)
        ):
            return True
        return any(self.covers(principal, held) for held in held_by)

    def require_act(self, principal: Principal, jurisdiction: str, *roles: Role) -> None:
        """May ``principal`` change a case in ``jurisdiction``? ``roles`` limits who may."""
        if principal.role is Role.AUDITOR:
            raise Forbidden("auditors read and never change", rule="auditor-read-only")
        if roles and principal.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs one of the roles: {allowed}", rule="role")
        if not self.covers(principal, jurisdiction):
            raise Forbidden("not within your jurisdiction", rule="jurisdiction-subtree")
