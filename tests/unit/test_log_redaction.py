"""No request data reaches a service's log through an error: a traceback names where and what was wrong,
never the input a validation error carried (a request body with a reporter's name and phone)."""

from __future__ import annotations

import io
import logging

import asyncpg
import pytest
from fastapi.exceptions import RequestValidationError

from cluetrail.logs import WithoutInputs, redacted_traceback
from contracts.api import ReporterIdentity
from contracts.events import Subject

NAME, PHONE = "卢秀梅", "139 0551 7788"
BODY = f'{{"reporter": {{"name": "{NAME}", "phone": "{PHONE}"}}, "x": "'.encode() + b'\xff"}'  # not UTF-8


def logged(exc: BaseException, message: str = "Exception in ASGI application", *args: object) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(WithoutInputs())
    logger = logging.getLogger(f"test-redaction-{id(exc)}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.error(message, *args, exc_info=exc)
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


def raised_while_handling_a_request_validation_error() -> Exception:
    """What answering an undecodable body did: the handler failed encoding the errors' input, so the
    traceback printed the RequestValidationError with the whole body."""
    try:
        try:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body",), "msg": "Invalid JSON", "input": BODY}], body=BODY
            )
        except RequestValidationError as exc:
            exc.errors()[0]["input"].decode()
    except UnicodeDecodeError as failure:
        return failure
    raise AssertionError("unreachable")


def test_a_traceback_through_a_request_validation_error_holds_no_input() -> None:
    text = logged(raised_while_handling_a_request_validation_error())
    assert NAME not in text and PHONE not in text and "\\xe5" not in text
    assert "During handling of the above exception" in text
    assert "fastapi.exceptions.RequestValidationError: 1 validation errors: body (json_invalid)" in text
    assert "UnicodeDecodeError" in text and "test_log_redaction.py" in text


def test_pydantic_and_database_errors_are_logged_without_their_values() -> None:
    with pytest.raises(Exception) as invalid:
        ReporterIdentity.model_validate({"name": NAME, "phone": PHONE + "!"})
    with pytest.raises(Exception) as event_invalid:  # an event model, which shows its input
        Subject.model_validate({"kind": "shop", "name": NAME * 100})
    refused = asyncpg.DataError(f"invalid input for query argument $2: '{NAME}' (expected str)")
    for error in (invalid.value, event_invalid.value, refused):
        text = logged(error) + logged(error, "failed (%s: %s)", type(error).__name__, error)
        assert NAME not in text and PHONE not in text, text
    assert "phone (string_pattern_mismatch)" in redacted_traceback(invalid.value)
    assert "name (string_too_long)" in redacted_traceback(event_invalid.value)
