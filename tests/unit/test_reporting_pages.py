"""The dashboard's error pages on an app of their own: a failure on a dashboard address is a Chinese page
with status 500, a refusal keeps its status; any other address keeps the service shell's answers."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from cluetrail.errors import NotFound
from cluetrail.service import install_error_handlers
from services.reporting.entrypoints.http.pages import install_error_pages


def app_with_failures() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/dashboard/boom")
    async def dashboard_boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/dashboard/gone")
    async def dashboard_gone() -> None:
        raise NotFound("no projection is live yet", rule="reporting.projection")

    @app.get("/v1/boom")
    async def api_boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/v1/gone")
    async def api_gone() -> None:
        raise NotFound("no projection is live yet", rule="reporting.projection")

    install_error_pages(app)
    return app


def client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app_with_failures(), raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://reporting")


async def test_a_failure_on_the_dashboard_is_a_chinese_500_page() -> None:
    async with client() as dashboard:
        boom = await dashboard.get("/dashboard/boom")
        gone = await dashboard.get("/dashboard/gone")
    assert boom.status_code == 500 and boom.headers["content-type"].startswith("text/html")
    assert "系统内部错误" in boom.text and "a bug" not in boom.text
    assert gone.status_code == 404 and "报表数据尚未建立" in gone.text


async def test_the_api_keeps_its_answers() -> None:
    async with client() as api:
        boom = await api.get("/v1/boom")
        gone = await api.get("/v1/gone")
        nowhere = await api.get("/v1/nowhere")
    assert boom.status_code == 500 and boom.text == "Internal Server Error"
    assert gone.status_code == 404 and gone.json()["detail"] == "no projection is live yet"
    assert nowhere.json() == {"detail": "Not Found"}
