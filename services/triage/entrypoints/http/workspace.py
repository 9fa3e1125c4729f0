"""The officer's workspace (``/workspace``), in Chinese: sign-in, the inbox of what waits on the officer's
office, and a case page offering the commands the workflow allows this officer now, each posted as a form
and recorded by the same route the JSON API records it with (``workspace_actions``); a refusal comes back
beside its form in Chinese (``refusals``).

Sign-in today is the access token (``cluetrail token issue``), pasted once into a form and kept in an
HttpOnly, SameSite=Strict cookie for the workspace's addresses only; the JSON API never reads that cookie,
it takes bearer tokens. ``session_principal`` is the one place a request becomes an officer: an
organisation's single sign-on replaces it (and the login form) with its own session and returns the same
``Principal``. Every form carries the signed CSRF token of ``cluetrail.web``.

The reporter's identity is never on a page but the one an entitled officer (the district lead office, the
police of a case transferred to them) opens with a stated purpose, a reading recorded on the case's chain
first; other officers' pages show nothing of the reporter, not even whether one gave a name.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from cluetrail.auth import Principal, Role, Unauthenticated, read_token
from cluetrail.errors import RuleViolation
from cluetrail.service import runtime_of
from cluetrail.web import (
    CSRF_FIELD,
    NO_STORE,
    CsrfRefused,
    form_document,
    page_templates,
    refused_fields,
    validate_form,
)
from contracts import labels as L
from contracts.events import parse_document
from contracts.taxonomy import default_taxonomy
from contracts.vocabulary import CaseStatus, Outcome
from services.triage.adapters import cases, inbox, notices
from services.triage.dependencies import Deps, TriageDeps
from services.triage.domain import access
from services.triage.domain.decisions import district_of
from services.triage.domain.state import CaseState
from services.triage.domain.workflow import CHINA
from services.triage.entrypoints.http import reporter
from services.triage.entrypoints.http.reads import readable
from services.triage.entrypoints.http.refusals import RULES, in_chinese
from services.triage.entrypoints.http.workspace_actions import BY_NAME, Offer, offer, offers

WORKSPACE = "/workspace"
SESSION_COOKIE = "cluetrail_workspace"
# How many open cases of the office's subtree the inbox looks at, the most recently changed first.
INBOX_LIMIT = 300
# A key case's deadline this close (or past) is in the inbox.
DEADLINE_DAYS = 90

router = APIRouter(prefix=WORKSPACE, include_in_schema=False)
templates = page_templates("services.triage.entrypoints.http")


def session_principal(request: Request) -> Principal | None:
    """The officer behind a workspace request, or None when nobody is signed in: today the access token kept
    by the login form (valid for triage). Single sign-on replaces this function, and nothing else."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    runtime = runtime_of(request)
    try:
        return read_token(runtime.settings, token, audience=runtime.name)
    except Unauthenticated:
        return None


def page(
    request: Request,
    deps: TriageDeps,
    name: str,
    status_code: int = 200,
    *,
    principal: Principal | None,
    **context: Any,
) -> Response:
    """A workspace page from its template, with the CSRF token its forms carry (and its cookie when new)."""
    token = deps.csrf.issue(request)
    html = templates.get_template(name).render(
        L=L,
        csrf_field=CSRF_FIELD,
        csrf=token.value,
        principal=principal,
        role_name=L.ROLES.get(principal.role.value, "") if principal else "",
        place=lambda code: place_name(deps, code),
        sector=lambda code: default_taxonomy().label(code) if code else "",
        **context,
    )
    return token.set_on(HTMLResponse(html, status_code=status_code, headers=NO_STORE), request)


def error_page(
    request: Request, deps: TriageDeps, principal: Principal | None, status: int, message: str
) -> Response:
    return page(request, deps, "error.html", status, principal=principal, status=status, message=message)


def place_name(deps: TriageDeps, code: str | None) -> str:
    """A jurisdiction by its full name (its code when the tree does not know it)."""
    if not code:
        return ""
    return deps.registry.path_name(code) if code in deps.registry else code


def to_login() -> Response:
    return RedirectResponse(f"{WORKSPACE}/login", status_code=303)


async def read_form(request: Request, deps: TriageDeps) -> FormData:
    """The posted form, once its CSRF token is this browser's (``CsrfRefused`` otherwise)."""
    form = await request.form(max_files=0, max_fields=200)
    deps.csrf.check(request, form)
    return form


# --- sign-in -------------------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, deps: Deps) -> Response:
    return page(request, deps, "login.html", principal=None, error=None)


@router.post("/login")
async def login(request: Request, deps: Deps) -> Response:
    """Keep a valid token in the session cookie; a refused one is said why, in Chinese."""
    try:
        form = await read_form(request, deps)
    except CsrfRefused as refused:
        return page(request, deps, "login.html", 403, principal=None, error=in_chinese(refused))
    token = form.get("token")
    token = token.strip() if isinstance(token, str) else ""
    runtime = runtime_of(request)
    try:
        read_token(runtime.settings, token, audience=runtime.name)
    except Unauthenticated as refused:
        return page(request, deps, "login.html", 401, principal=None, error=in_chinese(refused))
    response = RedirectResponse(WORKSPACE, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=WORKSPACE,
        max_age=int(runtime.settings.auth_token_max_hours * 3600),
    )
    return response


@router.post("/logout")
async def logout(request: Request, deps: Deps) -> Response:
    try:
        await read_form(request, deps)
    except CsrfRefused as refused:
        return error_page(request, deps, session_principal(request), 403, in_chinese(refused))
    response = to_login()
    response.delete_cookie(SESSION_COOKIE, path=WORKSPACE)
    return response


# --- the inbox -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A part of the inbox: the cases of a kind on which the workflow offers the officer ``action`` (any
    action, when None)."""

    key: str
    title: str
    kind: Callable[[CaseState], bool]
    action: str | None


S = CaseStatus
SECTIONS = (
    Section("new", "待研判的新线索", lambda s: s.status == S.ASSESSED, "determination"),
    Section("escalated", "逐级上报、等待本级决定", lambda s: s.status == S.ESCALATED, "determination"),
    Section("handoffs", "其他区县移交、等待接收", lambda s: s.handoff is not None, "handoff-accept"),
    Section("police", "移送公安、等待受理", lambda s: s.status == S.TRANSFERRED, "police-acceptance"),
    Section("handling", "在办案件", lambda s: True, None),
)


@dataclass(frozen=True)
class Deadline:
    state: CaseState
    name: str
    on: date


DEADLINES = (
    ("trial_and_return_by", "审结和清退期限"),
    ("supervision_from", "领导挂牌督办起始"),
    ("clearance_by", "清结期限"),
)


def waiting(deps: TriageDeps, principal: Principal, state: CaseState, section: Section) -> bool:
    """Does the case wait on the officer in ``section``: of its kind, with its action open (unrefused)."""
    if not section.kind(state):
        return False
    if section.action is not None:
        found = offer(deps, principal, state, BY_NAME[section.action])
        return found is not None and found.refusal is None
    return any(o.refusal is None for o in offers(deps, principal, state))


def sort_inbox(
    deps: TriageDeps, principal: Principal, states: list[CaseState], today: date
) -> tuple[dict[str, list[CaseState]], list[Deadline]]:
    """Each case in the first section it waits on the officer in, and the key-case deadlines near."""
    sections: dict[str, list[CaseState]] = {s.key: [] for s in SECTIONS}
    deadlines: list[Deadline] = []
    for state in states:
        if not readable(deps.access, principal, state, former_holders=False):
            continue
        section = next((s for s in SECTIONS if waiting(deps, principal, state, s)), None)
        if section is not None:
            sections[section.key].append(state)
        flag = state.key_case_flag
        if flag is not None:
            for field, name in DEADLINES:
                on = getattr(flag, field)
                if on is not None and on <= today + timedelta(days=DEADLINE_DAYS):
                    deadlines.append(Deadline(state, name, on))
    deadlines.sort(key=lambda d: d.on)
    return sections, deadlines


@router.get("")
async def inbox_page(request: Request, deps: Deps) -> Response:
    """What waits on the officer's office."""
    principal = session_principal(request)
    if principal is None:
        return to_login()
    codes = (
        [n.code for n in deps.registry.subtree(principal.jurisdiction)]
        if principal.jurisdiction in deps.registry
        else []
    )
    async with deps.pool.acquire() as conn:
        states = await inbox.open_cases_touching(conn, codes, INBOX_LIMIT)
    today = datetime.now(CHINA).date()
    sections, deadlines = sort_inbox(deps, principal, states, today)
    awaiting = None
    if deps.settings.notify_url and principal.role not in (Role.AUDITOR, Role.GRID_WORKER):
        token = request.cookies.get(SESSION_COOKIE, "")
        awaiting = await notices.awaiting_acknowledgement(deps.settings.notify_url, token)
    return page(
        request,
        deps,
        "inbox.html",
        principal=principal,
        sections=[(s, sections[s.key]) for s in SECTIONS],
        deadlines=deadlines,
        awaiting=awaiting,
        today=today,
        acts=principal.role not in (Role.AUDITOR, Role.GRID_WORKER),
    )


# --- a case --------------------------------------------------------------------------------------------


def case_id_of(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def reporter_entitled(deps: TriageDeps, principal: Principal, state: CaseState) -> bool:
    """May the officer open the case's reporter identity (the workflow's rule, ``access``)?"""
    try:
        access.require_reporter_reader(
            principal, state, can_read=readable(deps.access, principal, state, former_holders=False)
        )
    except RuleViolation:
        return False
    return True


def form_options(deps: TriageDeps, state: CaseState) -> dict[str, Any]:
    """The choices the case page's forms offer, in Chinese."""
    taxonomy = default_taxonomy()
    own = district_of(state.jurisdiction, deps.registry)
    return {
        "determinations": list(L.DETERMINATIONS.items()),
        "measures": list(L.MEASURES.items()),
        "outcomes": [(k, v) for k, v in L.OUTCOMES.items() if k not in (Outcome.MERGED, Outcome.WRITTEN_OFF)],
        "districts": [
            (n.code, deps.registry.path_name(n.code))
            for n in deps.registry.all()
            if n.level == "district" and n.code != own
        ],
        "linked": [e for e in state.linked if not e.split],
        "sectors": [(t.code, t.zh) for t in taxonomy.sectors],
        "behaviours": [(t.code, t.zh) for t in taxonomy.behaviours],
        "key_case_reasons": list(L.KEY_CASE_REASONS.items()),
    }


async def case_page(
    request: Request,
    deps: TriageDeps,
    principal: Principal,
    case_id: uuid.UUID,
    *,
    status_code: int = 200,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
    done: str | None = None,
    pending: bool = False,
) -> Response:
    """The case as the officer may see it, with the commands open to them now."""
    async with deps.pool.acquire() as conn:
        state = await cases.load(conn, case_id)
        if state is None or not readable(deps.access, principal, state):
            return error_page(request, deps, principal, 404, RULES["jurisdiction-subtree"])
        try:
            history: list[dict[str, Any]] | None = [
                parse_document(b) for b in await cases.event_bodies(conn, case_id, state.last_seq)
            ]
        except LookupError:
            history = None  # a database folded before bodies were kept: a rebuild fills them
    shown: list[Offer] = offers(deps, principal, state)
    return page(
        request,
        deps,
        "case.html",
        status_code,
        principal=principal,
        state=state,
        history=history,
        offers=shown,
        errors=errors or {},
        values=values or {},
        done=done,
        request_pending=pending,
        done_label=BY_NAME[done].label if done is not None and done in BY_NAME else None,
        entitled=reporter_entitled(deps, principal, state),
        department_name=state.responsible_department or "",
        **form_options(deps, state),
    )


@router.get("/cases/{case_id}")
async def case_view(
    request: Request, case_id: str, deps: Deps, done: str | None = None, pending: str | None = None
) -> Response:
    principal = session_principal(request)
    if principal is None:
        return to_login()
    found = case_id_of(case_id)
    if found is None:
        return error_page(request, deps, principal, 404, RULES["jurisdiction-subtree"])
    shown = done if done in BY_NAME else None
    return await case_page(request, deps, principal, found, done=shown, pending=pending == "1")


async def officers_post(
    request: Request, deps: TriageDeps, case_id: str
) -> tuple[Principal, FormData, uuid.UUID] | Response:
    """A form posted on a case: the officer, the form (its CSRF token checked) and the case id; or the page
    to answer instead (sign-in, a refused token, no such case)."""
    principal = session_principal(request)
    if principal is None:
        return to_login()
    try:
        form = await read_form(request, deps)
    except CsrfRefused as refused:
        return error_page(request, deps, principal, 403, in_chinese(refused))
    found = case_id_of(case_id)
    if found is None:
        return error_page(request, deps, principal, 404, RULES["jurisdiction-subtree"])
    return principal, form, found


@router.post("/cases/{case_id}/reporter")
async def reporter_identity(request: Request, case_id: str, deps: Deps) -> Response:
    """Open the reporter's identity with a stated purpose: recorded on the case's chain, then shown once."""
    posted = await officers_post(request, deps, case_id)
    if isinstance(posted, Response):
        return posted
    principal, form, found = posted
    purpose = form.get("purpose")
    purpose = purpose.strip() if isinstance(purpose, str) else ""
    if not purpose or "\x00" in purpose or len(purpose) > 5000:
        refusal = {"reporter": {"purpose": "请说明查阅目的（不超过5000字）。"}}
        return await case_page(request, deps, principal, found, status_code=422, errors=refusal)
    try:
        view = await reporter.reporter_identity(found, deps, principal, purpose)
    except RuleViolation as refused:
        refusal = {"reporter": {"_": in_chinese(refused)}}
        status = refused.status_code
        return await case_page(request, deps, principal, found, status_code=status, errors=refusal)
    return page(request, deps, "reporter.html", principal=principal, case_id=found, identity=view.reporter)


@router.post("/cases/{case_id}/{name}")
async def act(request: Request, case_id: str, name: str, deps: Deps) -> Response:
    """Take one command on the case, as the JSON API takes it; back to the case page, or its form again
    with the refusal in Chinese."""
    posted = await officers_post(request, deps, case_id)
    if isinstance(posted, Response):
        return posted
    principal, form, found = posted
    action = BY_NAME.get(name)
    if action is None:
        return error_page(request, deps, principal, 404, "您访问的页面不存在。")
    document = {**form_document(form, action.body), **action.fixed}
    values = {name: {k: v for k, v in form.multi_items() if isinstance(v, str)}}
    try:
        body = validate_form(action.body, document)
    except ValidationError as exc:
        errors = {name: refused_fields(exc, document)}
        return await case_page(request, deps, principal, found, status_code=422, errors=errors, values=values)
    try:
        answer = await action.run(found, body, deps, principal)
    except RuleViolation as refused:
        errors = {name: {"_": in_chinese(refused)}}
        return await case_page(
            request, deps, principal, found, status_code=refused.status_code, errors=errors, values=values
        )
    # Recorded either way; "pending": Kafka had not answered yet and the relay publishes it when it does.
    pending = "&pending=1" if isinstance(answer, JSONResponse) else ""
    return RedirectResponse(f"{WORKSPACE}/cases/{found}?done={name}{pending}", status_code=303)
