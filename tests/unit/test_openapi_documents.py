"""Each service's OpenAPI document is usable as it is served: every reference resolves, the bearer token
is declared, and each operation says whether it needs one."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from cluetrail.auth import BEARER_SCHEME
from tests.harness import SERVICES


def document(name: str) -> dict[str, Any]:
    app_module = importlib.import_module(f"services.{name}.bootstrap")
    settings_module = importlib.import_module(f"services.{name}.settings")
    settings = getattr(settings_module, f"{name.capitalize()}Settings")()
    served: dict[str, Any] = app_module.create_app(settings).openapi()
    return served


DOCUMENTS = {name: document(name) for name in SERVICES}


def references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in references(value)]
    if isinstance(node, list):
        return [r for item in node for r in references(item)]
    return []


@pytest.mark.parametrize("name", SERVICES)
def test_every_reference_resolves(name: str) -> None:
    """Intake's clue schema referred to #/$defs/SubjectKind, which is nowhere in the document."""
    served = DOCUMENTS[name]
    for reference in references(served):
        assert reference.startswith("#/components/schemas/"), reference
        assert reference.rsplit("/", 1)[1] in served["components"]["schemas"], reference


@pytest.mark.parametrize("name", SERVICES)
def test_the_bearer_token_is_declared_where_it_is_taken(name: str) -> None:
    served = DOCUMENTS[name]
    scheme = served["components"]["securitySchemes"][BEARER_SCHEME]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for path, operations in served["paths"].items():
        for method, operation in operations.items():
            if path in ("/healthz", "/readyz", "/metrics"):
                assert "security" not in operation, (method, path)


def security(name: str, method: str, path: str) -> list[dict[str, list[str]]] | None:
    found: list[dict[str, list[str]]] | None = DOCUMENTS[name]["paths"][path][method].get("security")
    return found


def test_each_operation_says_whether_it_needs_a_token() -> None:
    required = [{BEARER_SCHEME: []}]
    # The public reports a clue without a token; an officer on patrol sends theirs.
    assert security("intake", "post", "/v1/clues") == [{BEARER_SCHEME: []}, {}]
    assert security("intake", "get", "/v1/receipts/{receipt_code}") is None
    assert security("triage", "post", "/v1/cases/{case_id}/close") == required
    assert security("triage", "get", "/v1/cases/{case_id}") == required
    assert security("reporting", "get", "/v1/cases") == required
    assert security("notify", "get", "/v1/deliveries") == required


def test_a_body_s_refusals_are_documented() -> None:
    for name in SERVICES:
        for path, operations in DOCUMENTS[name]["paths"].items():
            for method, operation in operations.items():
                responses = operation["responses"]
                assert "503" in responses, (name, method, path)
                if "requestBody" in operation:
                    assert {"400", "413", "422"} <= set(responses) or {"400", "413"} <= set(responses)
