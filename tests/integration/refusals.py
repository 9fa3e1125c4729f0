"""Refusals as the services document them: the status in the operation's OpenAPI responses, the body a
ProblemDetail.

Shared by the integration tests of every service's refusals; a test module never imports another test
module's helpers.
"""

from __future__ import annotations

from typing import Any

import httpx

from contracts.api import ProblemDetail
from tests.harness import Stack

PROBLEM_REF = "#/components/schemas/ProblemDetail"


def documented(stack: Stack, service: str, method: str, path: str) -> dict[str, Any]:
    """The responses the running service documents for one operation, by status."""
    with stack.client(service) as client:
        document = client.get("/openapi.json").json()
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


def assert_refusal(
    stack: Stack, service: str, method: str, path: str, answer: httpx.Response, status: int
) -> ProblemDetail:
    """``answer`` refuses with ``status``, which the operation documents with a ProblemDetail body."""
    assert answer.status_code == status, answer.text
    responses = documented(stack, service, method, path)
    assert str(status) in responses, f"{status} not documented for {method.upper()} {path}"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    assert schema == {"$ref": PROBLEM_REF}
    problem = ProblemDetail.model_validate(answer.json())
    assert problem.detail
    return problem
