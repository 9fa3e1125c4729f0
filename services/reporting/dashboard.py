"""The officials' dashboard (/dashboard): the ledger with filters, a case's timeline and charts, in Chinese.

Rendered on the server from Jinja2 templates (services/reporting/templates/) with inline SVG charts; it
reads the same projection and applies the same access rules as the API. The demo login accepts an access
token and keeps it in the ``cluetrail_token`` cookie, which cluetrail.auth reads like a bearer token.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

import asyncpg
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from cluetrail.auth import TOKEN_COOKIE, AccessPolicy, Principal, Unauthenticated, read_token, token_from
from cluetrail.errors import RuleViolation
from cluetrail.service import connection
from contracts.jurisdictions import JurisdictionRegistry
from services.reporting import charts
from services.reporting.adapters import reads
from services.reporting.domain import labels as L
from services.reporting.domain.periods import CST, Period
from services.reporting.domain.tables import ledger_table
from services.reporting.reports import ReportQuery, Scope, build_table, parse_period, scope_for, subtree

PAGE = 50
MONTHS = 6
templates = Environment(
    loader=PackageLoader("services.reporting", "templates"), autoescape=select_autoescape(["html"])
)
# Officials read times in China Standard Time.
templates.filters["cst"] = lambda value: (
    (value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))
    .astimezone(CST)
    .strftime("%Y-%m-%d %H:%M")
)


def _page(name: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(L=L, **context))


def dashboard_router(registry: JurisdictionRegistry) -> APIRouter:
    router = APIRouter(prefix="/dashboard", include_in_schema=False)
    policy = AccessPolicy(registry)

    def reader(request: Request) -> Principal | None:
        token = token_from(request)
        if token is None:
            return None
        try:
            return read_token(request.app.state.runtime.settings, token)
        except Unauthenticated:
            return None

    @router.get("/login")
    async def login_form(error: str | None = None) -> HTMLResponse:
        return _page("login.html", error=error, principal=None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        try:
            read_token(request.app.state.runtime.settings, token)
        except Unauthenticated as exc:
            return _page("login.html", error=f"令牌无效：{exc.reason}", principal=None)
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
        conn: Annotated[asyncpg.Connection, Depends(connection)],
        jurisdiction: str | None = None,
        sector: str | None = None,
        grade: str | None = None,
        status: str | None = None,
        key_case: Annotated[str | None, Query()] = None,
        period: str | None = None,
        page: Annotated[int, Query(ge=1)] = 1,
    ) -> Response:
        principal = reader(request)
        if principal is None:
            return RedirectResponse("/dashboard/login", status_code=303)
        now = datetime.now(CST)
        try:
            scope = scope_for(policy, registry, principal, jurisdiction or None)
            month = parse_period(period or None, now)
        except RuleViolation as exc:
            return _page("error.html", principal=principal, message=exc.reason)
        filters = {"jurisdiction": scope.root, "sector": sector or None, "grade": grade or None,
                   "status": status or None, "key_case": key_case or None, "period": str(month)}  # fmt: skip
        where = reads.LedgerFilter(
            jurisdictions=subtree(registry, scope.root),
            sector=filters["sector"],
            grade=filters["grade"],
            status=filters["status"],
            key_case=True if key_case == "1" else None,
            transferred_to_police=True if scope.police_only else None,
        )
        rows, total = await reads.ledger_page(conn, where, (page - 1) * PAGE, PAGE)
        ledger = ledger_table("ledger", rows, registry)
        chart_svgs = await _charts(conn, registry, scope, month, now)
        query = {k: v for k, v in filters.items() if v}
        return _page(
            "dashboard.html",
            principal=principal,
            role=L.ROLES.get(principal.role.value, principal.role.value),
            scope=scope,
            root_name=registry.get(scope.root).name,
            filters=filters,
            ledger=ledger,
            total=total,
            page=page,
            pages=max(1, (total + PAGE - 1) // PAGE),
            prev_url=f"?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
            next_url=f"?{urlencode({**query, 'page': page + 1})}" if page * PAGE < total else None,
            jurisdictions=[
                n for n in registry.all() if registry.is_within(n.code, scope.root) and n.level != "grid"
            ],
            sectors=sorted(L.SECTORS.items()),
            grades=[(g, L.GRADES[g]) for g in ("major", "serious", "general", "low")],
            statuses=list(L.STATUSES.items()),
            charts=chart_svgs,
        )

    @router.get("/cases/{case_id}")
    async def case_page(
        request: Request, case_id: uuid.UUID, conn: Annotated[asyncpg.Connection, Depends(connection)]
    ) -> Response:
        principal = reader(request)
        if principal is None:
            return RedirectResponse("/dashboard/login", status_code=303)
        row = await reads.one_case(conn, case_id)
        if row is None or not policy.can_read(
            principal, str(row["jurisdiction"]), transferred_to_police=bool(row["transferred_to_police"])
        ):
            return _page("error.html", principal=principal, message=f"案件 {case_id} 不存在或不在您的辖区内")
        history = await reads.case_history(conn, case_id)
        case = ledger_table("ledger", [row], registry).rows[0]
        return _page("case.html", principal=principal, case=case, history=history)

    return router


async def _charts(
    conn: asyncpg.Connection, registry: JurisdictionRegistry, scope: Scope, month: Period, now: datetime
) -> dict[str, Markup]:
    """Clues by sector and month, grades by jurisdiction, and what is overdue, for the reader's scope."""
    cases, _ = await reads.table_cases(conn, subtree(registry, scope.root), police_only=scope.police_only)
    months = [month]
    while len(months) < MONTHS:
        months.insert(0, months[0].previous())
    by_sector: Counter[tuple[str, str]] = Counter()
    for case in cases:
        first = case.facts[0] if case.facts else None
        if first is not None and first.type == "clue-reported":
            by_sector[(str(Period.of(first.occurred_at)), str(case.row.get("sector") or "unspecified"))] += 1
    sectors = sorted(
        {s for (_, s) in by_sector}, key=lambda s: -sum(n for (p, x), n in by_sector.items() if x == s)
    )
    shown, rest = sectors[:7], sectors[7:]
    series = [
        (L.label(L.SECTORS, s) if s != "unspecified" else "未注明", [by_sector[(str(m), s)] for m in months],
         charts.PALETTE[i]) for i, s in enumerate(shown)
    ]  # fmt: skip
    if rest:
        series.append(
            ("其他", [sum(by_sector[(str(m), s)] for s in rest) for m in months], charts.PALETTE[7])
        )
    clues = charts.stacked_columns("各月新增线索（按行业领域）", [f"{m.month}月" for m in months], series)

    children = [c for c in registry.children(scope.root) if c.level != "grid"] or [registry.get(scope.root)]
    grade_keys = ("major", "serious", "general", "low", "ungraded")
    counts = {c.code: Counter[str]() for c in children}
    for case in cases:
        where = str(case.row["jurisdiction"])
        for child in children:
            if where in registry and registry.is_within(where, child.code):
                counts[child.code][str(case.row.get("grade") or "ungraded")] += 1
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
