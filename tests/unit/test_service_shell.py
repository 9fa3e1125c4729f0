"""The service shell's answers, the same in every service: a database outage is a 503 with Retry-After and
a ProblemDetail, never a 500; a body that is not readable JSON (not JSON, not UTF-8) is a 400, readable
JSON that breaks the contract a 422; a body over the limit a 413; and no answer echoes the input."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Annotated, Any

import asyncpg
import httpx
import pytest
from fastapi import Depends, FastAPI, Request

from cluetrail.service import DATABASE_RETRY_AFTER_SECONDS, BodyRules, connection, install_error_handlers
from contracts.api import CloseRequest, ClueSubmission
from contracts.jurisdictions import default_registry
from services.intake.entrypoints.http.clues import parse_submission

REPORTER = {"name": "卢秀梅", "phone": "139 0551 7788"}
CLUE: dict[str, Any] = {
    "jurisdiction": "340102L01003",
    "source": "public_app",
    "subject": {"kind": "shop", "name": "大店养老服务中心"},
    "description": "以预订养老床位为名，承诺年化12%返利，向社区老人吸收资金。",
    "estimated_amount_yuan": 1_200_000,
    "reporter": REPORTER,
}
LIMIT = 4096


class FailingPool:
    """A pool whose every acquire fails as a pool does while PostgreSQL is down."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def acquire(self, **_: Any) -> FailingPool:
        return self

    async def __aenter__(self) -> None:
        raise self.error

    async def __aexit__(self, *_: object) -> None:
        return None


def shell(pool: Any = None) -> FastAPI:
    """An app with the shell's error handlers and body rules, and routes like the services' own."""
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodyRules, max_bytes=LIMIT)
    app.state.runtime = SimpleNamespace(pool=pool, settings=SimpleNamespace(database_timeout_seconds=2.0))
    registry = default_registry()

    @app.get("/v1/cases")
    async def cases(conn: Annotated[asyncpg.Connection, Depends(connection)]) -> list[int]:
        return [await conn.fetchval("SELECT 1")]

    @app.post("/v1/close", status_code=202)
    async def close(body: CloseRequest) -> dict[str, str]:
        return {"outcome": body.outcome.value}

    @app.post("/v1/clues", status_code=202)
    async def clue(request: Request) -> dict[str, str]:
        return {"subject": parse_submission(await request.body(), registry).subject.name}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://service")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    assert set(body) == {"detail", "errors"} and body["detail"]
    for secret in (REPORTER["name"], REPORTER["phone"], "大店养老服务中心"):
        assert secret not in answer.text
    return body


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 55432)"),
        TimeoutError(),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
        # A session the server ended while asyncpg was still reading its last answer (seen in a restart).
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_a_database_outage_is_a_503_with_retry_after(error: Exception) -> None:
    async with client(shell(FailingPool(error))) as service:
        answer = await service.get("/v1/cases")
    problem = assert_problem(answer, 503)
    assert answer.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert type(error).__name__ in problem["detail"]
    assert problem["errors"] == [{"rule": "database-available"}]


class BusyPool:
    """A pool with no connection free: acquire waits until the caller's timeout."""

    def acquire(self, *, timeout: float | None = None) -> BusyPool:
        assert timeout is not None, "a request must not wait for a connection without end"
        self.timeout = timeout
        return self

    async def __aenter__(self) -> None:
        await asyncio.wait_for(asyncio.Event().wait(), self.timeout)

    async def __aexit__(self, *_: object) -> None:
        return None


async def test_no_connection_free_in_time_is_a_503() -> None:
    async with client(shell(BusyPool())) as service:
        answer = await service.get("/v1/cases")
    assert "TimeoutError" in assert_problem(answer, 503)["detail"]


async def test_a_real_pool_whose_server_is_gone_is_a_503() -> None:
    pool = await asyncpg.create_pool(f"postgresql://u:p@127.0.0.1:{closed_port()}/db", min_size=0)
    try:
        async with client(shell(pool)) as service:
            answers = [await service.get("/v1/cases") for _ in range(2)]
    finally:
        await pool.close()
    for answer in answers:
        assert_problem(answer, 503)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"outcome": "rectified", ', "application/json"),
        (b"\xff", "application/json"),
        ('{"summary": "已整改"}'.encode("utf-16"), "application/json"),
        ('{"summary": "已整改"}'.encode("gbk"), "application/json; charset=gbk"),
        ('{"summary": "已整改"}'.encode("gbk"), "application/json"),
        (b'{"summary": "ok"}', "application/json; charset=gbk"),
    ],
    ids=["truncated", "xff", "utf-16", "gbk-declared", "gbk-undeclared", "charset-gbk"],
)
async def test_a_body_that_is_not_readable_json_is_a_400_in_every_kind_of_route(
    body: bytes, content_type: str
) -> None:
    clue = json.dumps(CLUE, ensure_ascii=False)
    unreadable_clue = body if body.startswith(b'{"o') or body == b"\xff" else clue.encode("utf-16")
    async with client(shell()) as service:
        parsed_by_fastapi = await service.post(
            "/v1/close", content=body, headers={"content-type": content_type}
        )
        read_by_the_route = await service.post(
            "/v1/clues", content=unreadable_clue, headers={"content-type": content_type}
        )
        as_gbk = await service.post(
            "/v1/clues", content=clue.encode("gbk"), headers={"content-type": "text/plain"}
        )
    for answer in (parsed_by_fastapi, read_by_the_route, as_gbk):
        problem = assert_problem(answer, 400)
        assert problem["detail"].startswith("the body is not readable JSON")
        assert [e["type"] for e in problem["errors"]] == ["json_invalid"]


async def test_readable_json_that_breaks_the_contract_is_a_422_naming_fields_not_values() -> None:
    clue = {**CLUE, "estimated_amount_yuan": True, "reporter": {**REPORTER, "phone": "139-0551-7788x"}}
    async with client(shell()) as service:
        close = await service.post("/v1/close", json={"outcome": "rectified", "recovered_amount_yuan": "5"})
        submitted = await service.post("/v1/clues", json=clue)
    assert {e["field"] for e in assert_problem(close, 422)["errors"]} == {"summary", "recovered_amount_yuan"}
    fields = {e["field"] for e in assert_problem(submitted, 422)["errors"]}
    assert fields == {"estimated_amount_yuan", "reporter.phone"}


@pytest.mark.parametrize("amount", [True, "1000000", 1.5, None])
def test_an_amount_is_a_json_integer_as_the_schema_says(amount: object) -> None:
    """``true`` became 1 yuan and ``"1000000"`` a million."""
    refused = amount is not None
    body = json.dumps({**CLUE, "estimated_amount_yuan": amount})
    if refused:
        with pytest.raises(ValueError, match="valid integer"):
            ClueSubmission.model_validate_json(body)
    else:
        assert ClueSubmission.model_validate_json(body).estimated_amount_yuan is None


def test_every_field_still_takes_what_its_schema_allows() -> None:
    full = {
        **CLUE,
        "source": "grid_patrol",
        "subject": {
            "kind": "company",
            "name": "华都财富管理有限公司",
            "credit_code": "91340102MA2TEQ001R",
            "address": "瑶海区长淮路8号",
            "legal_representative": "王某",
        },
        "description": "第一行\n第二行\t缩进\r\n",
        "sector": "elderly_care",
        "behaviours": ["high_return_promise"],
        "participants": 45,
        "flags": ["public_outcry"],
        "regions_involved": ["340102"],
        "evidence": [
            {"sha256": "a" * 64, "media_type": "image/jpeg", "filename": "现场.jpg", "size_bytes": 1}
        ],
        "observed_at": "2026-03-01T09:30:00+08:00",
    }
    from_json = ClueSubmission.model_validate_json(json.dumps(full, ensure_ascii=False))
    assert from_json.observed_at is not None and from_json.observed_at.utcoffset() is not None
    assert ClueSubmission.model_validate(full) == from_json  # as FastAPI validates bodies, too
    with pytest.raises(ValueError, match="RFC 3339"):
        ClueSubmission.model_validate_json(json.dumps({**full, "observed_at": 1_772_328_600}))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": {"kind": "shop", "name": "大店\u0001养老"}}, "subject.name"),
        ({"subject": {"kind": "shop", "name": "大店养老", "address": "长淮路\n8号"}}, "subject.address"),
        ({"description": "吸收资金\u0008\u0008\u0008退款中"}, "description"),
        ({"reporter": {"name": "卢秀梅\u009b", "phone": "139 0551 7788"}}, "reporter.name"),
        # A direction override prints the rest of the name backwards; a line separator breaks a line.
        ({"subject": {"kind": "shop", "name": "大店\u202e老养"}}, "subject.name"),
        ({"description": "吸收资金\u2028退款中"}, "description"),
        (
            {"evidence": [{"sha256": "a" * 64, "media_type": "image/jpeg\u0007", "size_bytes": 1}]},
            "evidence.0.media_type",
        ),
    ],
)
async def test_a_control_character_in_any_text_is_a_422_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    async with client(shell()) as service:
        answer = await service.post("/v1/clues", json={**CLUE, **change})
    errors = assert_problem(answer, 422)["errors"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["type"] in ("control_character", "value_error")


def test_the_schema_says_which_control_characters_text_may_hold() -> None:
    schema = ClueSubmission.model_json_schema()
    name = re.compile(schema["$defs"]["SubjectSubmission"]["properties"]["name"]["pattern"])
    description = re.compile(schema["properties"]["description"]["pattern"])
    for code in [*range(0x20), *range(0x7F, 0xA0), *range(0x2028, 0x202F), *range(0x2066, 0x206A)]:
        character = chr(code)
        assert name.search(f"a{character}b") is None
        assert (description.search(f"a{character}b") is not None) == (character in "\t\n\r")
    assert name.search("华都 财富·管理（有限）公司") and description.search("第一行\n第二行")


async def test_a_body_over_the_limit_is_a_413_declared_or_streamed() -> None:
    big = json.dumps({**CLUE, "description": "吸收资金" * 1000}, ensure_ascii=False).encode()

    async def streamed() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    async with client(shell()) as service:
        declared = await service.post("/v1/clues", content=big, headers={"content-type": "application/json"})
        chunked = await service.post(
            "/v1/clues", content=streamed(), headers={"content-type": "application/json"}
        )
        by_fastapi = await service.post(
            "/v1/close", content=big, headers={"content-type": "application/json"}
        )
        small = await service.post("/v1/clues", json=CLUE)
    assert (
        f"of {len(big)} bytes exceeds the limit of {LIMIT} bytes" in assert_problem(declared, 413)["detail"]
    )
    for answer in (chunked, by_fastapi):
        assert assert_problem(answer, 413)["errors"] == [{"rule": "max_body_bytes"}]
    assert small.status_code == 202, small.text
