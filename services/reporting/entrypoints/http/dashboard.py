"""The officials' dashboard (/dashboard): the ledger with filters, a case's timeline (its events, then
notify's notices about it) and charts, in Chinese.

Rendered on the server from Jinja2 templates (``templates/``, ``pages``) with inline SVG charts
(``charts``); it reads the same projection and applies the same access rules as the API. The demo login
accepts an access token and keeps it in the ``cluetrail_token`` cookie, which cluetrail.auth reads like a
bearer token. A refusal is an error page with its status and a Chinese reason (``pages.error_page``).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import asyncpg
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from cluetrail.auth import TOKEN_COOKIE, Unauthenticated
from cluetrail.errors import Forbidden, InvalidInput
from cluetrail.service import Connection
from contracts.jurisdictions import JurisdictionRegistry
from contracts.taxonomy import default_taxonomy
from contracts.vocabulary import CaseStatus, Grade
from services.reporting.adapters import reads
from services.reporting.adapters.notices import NoticesNotKept, case_notices
from services.reporting.adapters.reports import build_table
from services.reporting.dependencies import Deps
from services.reporting.domain import labels as L
from services.reporting.domain.notices import timeline_notice
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.reports import ReportQuery, Scope, parse_period, readable, scope_for, subtree
from services.reporting.domain.tables import ledger_table
from services.reporting.entrypoints.http import charts
from services.reporting.entrypoints.http.pages import error_page, login_refusal, page, principal_of, reader

PAGE = 50
# The last page whose offset PostgreSQL's bigint OFFSET still takes.
MAX_PAGE = (2**63 - 1) // PAGE
MONTHS = 6

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("/login")
async def login_form(error: str | None = None) -> HTMLResponse:
    return page("login.html", error=error, principal=None)


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    try:
        principal_of(request, token)
    except Unauthenticated as exc:
        return page("login.html", 401, error=login_refusal(exc), principal=None)
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/logout")
async def logout() -> Response:
    response = RedirectResponse("/dashboard/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("")
async def home(
    request: Request,
    conn: Connection,
    deps: Deps,
    jurisdiction: str | None = None,
    sector: str | None = None,
    grade: str | None = None,
    status: str | None = None,
    key_case: Annotated[str | None, Query()] = None,
    period: str | None = None,
    page_number: Annotated[int, Query(alias="page", ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    principal = reader(request)
    if principal is None:
        return RedirectResponse("/dashboard/login", status_code=303)
    now = datetime.now(CST)
    # The same rules as the API's, refused with the page's status and a Chinese reason.
    try:
        scope = scope_for(deps.access, deps.registry, principal, jurisdiction or None)
    except Forbidden:
        return error_page(principal, 403, "该辖区不在您的辖区范围内，无权查看。")
    except InvalidInput:
        return error_page(principal, 422, f"辖区代码 {jurisdiction} 不在辖区树中。")
    try:
        # The period narrows the ledger to the cases reported in it; the charts end at it (default:
        # this month, with the whole ledger).
        chosen = parse_period(period, now) if period else None
    except InvalidInput:
        return error_page(principal, 422, f"统计期 {period} 无效：应为“年-月”，例如 2026-10。")
    if sector and not default_taxonomy().is_sector(sector):
        return error_page(principal, 422, f"行业领域代码 {sector} 不在分类目录中。")
    if grade and grade not in set(Grade):
        return error_page(principal, 422, f"风险等级 {grade} 无效。")
    if status and status not in set(CaseStatus):
        return error_page(principal, 422, f"办理状态 {status} 无效。")
    month = chosen or Period.of(now)
    filters = {"jurisdiction": scope.root, "sector": sector or None, "grade": grade or None,
               "status": status or None, "key_case": key_case or None,
               "period": str(chosen) if chosen else None}  # fmt: skip
    where = reads.LedgerFilter(
        jurisdictions=subtree(deps.registry, scope.root),
        sector=filters["sector"],
        grade=filters["grade"],
        status=filters["status"],
        key_case=True if key_case == "1" else None,
        reported_from=chosen.start if chosen else None,
        # reported_to is inclusive: the last microsecond of the month.
        reported_to=chosen.end - timedelta(microseconds=1) if chosen else None,
        transferred_to_police=True if scope.police_only else None,
        handed_out=None if scope.police_only else True,
    )
    rows, total = await reads.ledger_page(conn, where, (page_number - 1) * PAGE, PAGE)
    ledger = ledger_table("ledger", rows, deps.registry, deps.regions)
    chart_svgs = await dashboard_charts(conn, deps.registry, scope, month, now)
    query = {k: v for k, v in filters.items() if v}
    return page(
        "dashboard.html",
        principal=principal,
        role=L.ROLES.get(principal.role.value, principal.role.value),
        scope=scope,
        root_name=deps.registry.get(scope.root).name,
        filters=filters,
        month=month,
        chosen=chosen,
        ledger=ledger,
        total=total,
        page=page_number,
        page_size=PAGE,
        pages=max(1, (total + PAGE - 1) // PAGE),
        prev_url=f"?{urlencode({**query, 'page': page_number - 1})}" if page_number > 1 else None,
        next_url=(
            f"?{urlencode({**query, 'page': page_number + 1})}" if page_number * PAGE < total else None
        ),
        jurisdictions=[n for n in deps.registry.subtree(scope.root) if n.level != "grid"],
        sectors=L.sector_options(),
        grades=[(g, L.GRADES[g]) for g in ("major", "serious", "general", "low")],
        statuses=list(L.CASE_STATUSES.items()),
        charts=chart_svgs,
    )


@router.get("/cases/{case_id}")
async def case_page(request: Request, case_id: uuid.UUID, conn: Connection, deps: Deps) -> Response:
    principal = reader(request)
    if principal is None:
        return RedirectResponse("/dashboard/login", status_code=303)
    row = await reads.one_case(conn, case_id)
    if row is None or not readable(deps.access, principal, row):
        return error_page(principal, 404, f"案件 {case_id} 不存在或不在您的辖区内。")
    history = await reads.case_history(conn, case_id)
    try:
        notices: list[dict[str, Any]] | None = [timeline_notice(n) for n in await case_notices(conn, case_id)]
    except NoticesNotKept:
        notices = None  # the live version is being rebuilt by a release that keeps them
    case = ledger_table("ledger", [row], deps.registry, deps.regions).rows[0]
    return page("case.html", principal=principal, case=case, history=history, notices=notices)


async def dashboard_charts(
    conn: asyncpg.Connection, registry: JurisdictionRegistry, scope: Scope, month: Period, now: datetime
) -> dict[str, Markup]:
    """Clues by sector and month, grades by jurisdiction, and what is overdue, for the reader's scope.

    Each is a narrow aggregate: two GROUP BY queries over the ledger rows of the subtree (by current
    place, sector and grade), the deadlines from the registry and the submissions, and the ageing lists
    from the few cases ever sent to the police."""
    codes = subtree(registry, scope.root)
    months = [month]
    while len(months) < MONTHS:
        months.insert(0, months[0].previous())
    by_sector = await reads.chart_clues(conn, codes, scope.police_only, months[0].start, month.end)
    totals: Counter[str] = Counter()
    for (_, sector), count in by_sector.items():
        totals[sector] += count
    sectors = sorted(totals, key=lambda s: (-totals[s], s))
    shown, rest = sectors[:7], sectors[7:]
    series = [
        (L.sector_label(s) if s != "unspecified" else "未注明",
         [by_sector.get((str(m), s), 0) for m in months], charts.PALETTE[i]) for i, s in enumerate(shown)
    ]  # fmt: skip
    if rest:
        series.append(
            ("其他", [sum(by_sector.get((str(m), s), 0) for s in rest) for m in months], charts.PALETTE[7])
        )
    clues = charts.stacked_columns(
        f"各月新增线索（按行业领域，截至{month.label}）", [f"{m.month}月" for m in months], series
    )

    children = [c for c in registry.children(scope.root) if c.level != "grid"] or [registry.get(scope.root)]
    grade_keys = ("major", "serious", "general", "low", "ungraded")
    counts = {c.code: Counter[str]() for c in children}
    for place, grade, cases in await reads.chart_grades(conn, codes, scope.police_only):
        for child in children:
            if place in registry and registry.is_within(place, child.code):
                counts[child.code][grade] += cases
    grades = charts.stacked_bars(
        "各辖区风险等级分布",
        [c.name for c in children],
        [(L.GRADES[g], [counts[c.code][g] for c in children], charts.GRADE_COLOURS[g]) for g in grade_keys],
    )

    deadlines = await build_table(conn, registry, ReportQuery("deadlines", month), scope, now)
    ageing = await build_table(conn, registry, ReportQuery("ageing", month), scope, now)
    overdue_reports = Counter(r["level"] for r in deadlines.rows if r["overdue"])
    ageing_rules = Counter(int(r["years"]) for r in ageing.rows)
    items = [
        ("社区逾期未报", overdue_reports.get("社区/村", 0)),
        ("街道逾期未报", overdue_reports.get("街道/乡镇", 0)),
        ("立案满2年未结", sum(n for y, n in ageing_rules.items() if 2 <= y < 3)),
        ("立案满3年未结", sum(n for y, n in ageing_rules.items() if 3 <= y < 5)),
        ("立案满5年未结", sum(n for y, n in ageing_rules.items() if y >= 5)),
    ]
    overdue = charts.stacked_bars(
        f"逾期与超时限事项（{month.label}）",
        [name for name, _ in items],
        [("件数", [n for _, n in items], "#D55E00")],
    )
    return {"clues": Markup(clues), "grades": Markup(grades), "overdue": Markup(overdue)}
