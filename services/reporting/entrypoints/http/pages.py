"""The dashboard's pages as HTML: the Jinja2 templates (``templates/``), its reader, and its error pages. No
routes of its own: the dashboard's are ``dashboard``.

An error page carries the status of what went wrong (403 outside the reader's jurisdiction, 404 no such case
or page, 422 a filter the dashboard cannot apply, 401 a token refused at login, 405, 500…) and says it in
Chinese, whoever refused: the dashboard's own routes, FastAPI's validation of their parameters, the router
(no such page), a rule of the projection read, or the NUL guard before routing. The API keeps its JSON
problems in English; ``install_error_pages`` sends a refusal to the dashboard's page only when the request was
for a dashboard address.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from cluetrail.auth import Principal, Unauthenticated, read_token, token_from
from cluetrail.errors import RuleViolation
from cluetrail.service import runtime_of
from cluetrail.web import page_templates
from services.reporting.domain import labels as L

DASHBOARD = "/dashboard"
templates = page_templates("services.reporting.entrypoints.http")

# The heading of an error page, by status.
ERROR_TITLES = {
    400: "请求无效",
    401: "未能登录",
    403: "无权查看",
    404: "页面不存在",
    405: "不支持该请求方式",
    409: "暂时无法办理",
    422: "请求参数无效",
    500: "系统内部错误",
    502: "上游数据暂不可用",
    503: "服务暂不可用",
}
# What the page says when the refusal came from elsewhere than the dashboard's own checks, by status.
GENERIC_MESSAGES = {
    400: "请求无法识别，请返回台账重新操作。",
    403: "该内容不在您的辖区范围内。",
    404: "您访问的页面不存在。",
    405: "该页面不支持此请求方式。",
    409: "报表数据正在建立或更新，请稍后再试。",
    422: "请求参数无效，请返回台账重新选择筛选条件。",
    500: "系统内部错误，请稍后再试；如仍出现，请联系系统管理员。",
    502: "暂时无法读取案件日志，请稍后再试。",
    503: "服务暂不可用，请稍后再试。",
}
# Rules of the projection reads the dashboard may meet, in Chinese.
RULE_MESSAGES = {
    "reporting.projection": "报表数据尚未建立，请稍后再试。",
    "reporting.as_of": "所请求的历史时点报表不存在或尚未建成。",
    "reporting.log": "暂时无法从案件日志读取该案件的事件，请稍后再试。",
}
# Parameters of the dashboard's addresses, as a page names them.
PARAMETERS = {
    "page": "页码",
    "jurisdiction": "辖区",
    "sector": "行业领域",
    "grade": "风险等级",
    "status": "办理状态",
    "key_case": "重点案件",
    "period": "统计期",
    "error": "错误说明",
}


def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A dashboard page rendered from its template (``L``: the labels)."""
    return HTMLResponse(templates.get_template(name).render(L=L, **context), status_code=status_code)


def error_page(principal: Principal | None, status: int, message: str) -> HTMLResponse:
    """The dashboard's error page: ``status`` and a Chinese ``message`` saying what went wrong."""
    title = ERROR_TITLES.get(status, "请求未能完成")
    return page("error.html", status, principal=principal, status=status, title=title, message=message)


def principal_of(request: Request, token: str) -> Principal:
    """Who ``token`` names, if it is valid at this service; ``Unauthenticated`` (with the rule broken) if
    it is not."""
    runtime = runtime_of(request)
    return read_token(runtime.settings, token, audience=runtime.name)


def reader(request: Request) -> Principal | None:
    """The reader of a dashboard request (the token cookie or header), or None when there is no valid one."""
    token = token_from(request)
    if token is None:
        return None
    try:
        return principal_of(request, token)
    except Unauthenticated:
        return None


def login_refusal(exc: Unauthenticated) -> str:
    """Why a token was refused at login, in Chinese."""
    if exc.rule == "token-expired":
        return "令牌无效：已过期，请重新签发。"
    if exc.rule == "token-invalid":
        return "令牌无效：签名或格式不正确，请确认粘贴了完整的令牌。"
    if exc.rule == "token-audience":
        return "令牌无效：不是签发给统计报表服务的，请签发包含 reporting 的令牌。"
    if exc.rule == "token-lifetime":
        return "令牌无效：有效期超过允许的最长时间，请重新签发。"
    return "令牌无效：其中的角色或辖区不正确。"


def on_dashboard(path: str) -> bool:
    return path == DASHBOARD or path.startswith(DASHBOARD + "/")


def validation_message(exc: RequestValidationError) -> tuple[int, str]:
    """A parameter FastAPI refused: 404 for a part of the address (no such page), else 422 naming it."""
    locations = [tuple(error.get("loc", ())) for error in exc.errors()]
    if any(loc[:1] == ("path",) for loc in locations):
        return 404, "您访问的页面不存在：地址中的编号无效。"
    names = [PARAMETERS.get(str(loc[-1]), "") for loc in locations if loc]
    named = "、".join(dict.fromkeys(n for n in names if n))
    return 422, f"请求参数无效：{named}。" if named else GENERIC_MESSAGES[422]


def refusal_message(exc: RuleViolation) -> str:
    return RULE_MESSAGES.get(exc.rule or "", GENERIC_MESSAGES.get(exc.status_code, "请求未能完成。"))


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def install_error_pages(app: FastAPI) -> None:
    """Answer every refusal of a dashboard address with the dashboard's error page, its status kept; other
    addresses keep the handlers the service shell installed (JSON problems). Call once the app is built."""

    def for_dashboard(kind: type[Exception], render: Callable[[Request, Any], Response]) -> None:
        fallback: Handler | None = app.exception_handlers.get(kind)

        async def handle(request: Request, exc: Any) -> Response:
            if on_dashboard(request.url.path):
                return render(request, exc)
            if fallback is None:
                return PlainTextResponse("Internal Server Error", status_code=500)
            answered = fallback(request, exc)
            return await answered if inspect.isawaitable(answered) else answered

        app.add_exception_handler(kind, handle)

    def invalid(request: Request, exc: RequestValidationError) -> Response:
        status, message = validation_message(exc)
        return error_page(reader(request), status, message)

    def http(request: Request, exc: HTTPException) -> Response:
        message = GENERIC_MESSAGES.get(exc.status_code, "请求未能完成。")
        return error_page(reader(request), exc.status_code, message)

    def refused(request: Request, exc: RuleViolation) -> Response:
        return error_page(reader(request), exc.status_code, refusal_message(exc))

    def failed(request: Request, exc: Exception) -> Response:
        return error_page(reader(request), 500, GENERIC_MESSAGES[500])

    for_dashboard(RequestValidationError, invalid)
    for_dashboard(HTTPException, http)
    for_dashboard(RuleViolation, refused)
    for_dashboard(Exception, failed)  # Starlette still logs it and re-raises it after the page is sent
    app.add_middleware(RefuseNulOnDashboard)


class RefuseNulOnDashboard:
    """ASGI middleware: a dashboard address carrying U+0000 (``%00``) is refused with the Chinese error page
    (422) before the service shell's guard would answer it with the API's JSON problem. Added after that
    guard, so it runs first."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and on_dashboard(scope.get("path", ""))
            and (b"%00" in scope.get("query_string", b"") or b"%00" in scope.get("raw_path", b""))
        ):
            refusal = error_page(reader(Request(scope)), 422, "地址中含有空字符（%00），无法处理。")
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)
