"""Settings outside a developer's machine: the environment is named, never assumed; the development keys,
secrets and database password are refused however they are written; and no settings error shows a value
it was given."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from pydantic import ValidationError

from cluetrail.settings import (
    DEVELOPMENT_AUTH_SECRET,
    DEVELOPMENT_REPORTER_KEY,
    CommonSettings,
    ServiceSettings,
)

OWN_KEY = base64.b64encode(b"a key of this deployment, 32 B.!").decode()
OWN_SECRET = "a signing secret of this deployment, long enough"
OWN_DATABASE = "postgresql://cluetrail:s3cret-of-this-deployment@db.example:5432/cluetrail"


def deployed(environment: str = "production", **changes: Any) -> CommonSettings:
    """Settings of a deployment with secrets of its own, but for ``changes``."""
    values: dict[str, Any] = {
        "environment": environment,
        "reporter_keys": json.dumps({"prod-1": OWN_KEY}),
        "reporter_key_id": "prod-1",
        "auth_secret": OWN_SECRET,
        "database_url": OWN_DATABASE,
        **changes,
    }
    return CommonSettings(**values)


def test_the_environment_must_be_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployed service that forgot CLUETRAIL_ENVIRONMENT ran as local, with the development keys."""
    monkeypatch.delenv("CLUETRAIL_ENVIRONMENT", raising=False)
    with pytest.raises(ValidationError, match="CLUETRAIL_ENVIRONMENT is not set"):
        CommonSettings()
    with pytest.raises(ValidationError, match="CLUETRAIL_ENVIRONMENT is not set"):
        ServiceSettings()
    monkeypatch.setenv("CLUETRAIL_ENVIRONMENT", "local")
    assert CommonSettings().environment == "local"


@pytest.mark.parametrize("environment", ["test", "production"])
def test_a_deployment_with_its_own_secrets_starts(environment: str) -> None:
    assert deployed(environment).environment == environment


@pytest.mark.parametrize(
    "written",
    [
        DEVELOPMENT_REPORTER_KEY,
        DEVELOPMENT_REPORTER_KEY + "==",  # padded
        DEVELOPMENT_REPORTER_KEY[:20] + "\n" + DEVELOPMENT_REPORTER_KEY[20:],  # wrapped
        "\\u00" + f"{ord(DEVELOPMENT_REPORTER_KEY[0]):02x}" + DEVELOPMENT_REPORTER_KEY[1:],  # JSON escape
    ],
    ids=["as-is", "padded", "wrapped", "escaped"],
)
def test_the_development_reporter_key_is_refused_however_it_is_written(written: str) -> None:
    keys = '{"prod-1": "' + OWN_KEY + '", "old-1": "' + written.replace("\n", "\\n") + '"}'
    with pytest.raises(ValidationError, match="key 'old-1' is the development key"):
        deployed(reporter_keys=keys)


@pytest.mark.parametrize(
    ("secret", "reason"),
    [
        (DEVELOPMENT_AUTH_SECRET, "is the development secret"),
        (f" {DEVELOPMENT_AUTH_SECRET}!", "is the development secret"),
        ("short" + " " * 40, "shorter than 32 bytes"),
    ],
)
def test_a_weak_token_secret_is_refused(secret: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        deployed("test", auth_secret=secret)


def test_the_development_database_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="development database password"):
        deployed(database_url="postgresql://cluetrail:cluetrail@db.example:5432/cluetrail")
    assert deployed(database_url="postgresql://app@db.example/cluetrail")  # no password: peer or TLS


def test_every_problem_is_named_at_once_and_local_allows_them_all() -> None:
    with pytest.raises(ValidationError) as refused:
        CommonSettings(environment="production")
    message = str(refused.value)
    for problem in ("development key", "development secret", "development database password"):
        assert problem in message
    assert CommonSettings(environment="local").auth_secret == DEVELOPMENT_AUTH_SECRET


def test_a_settings_error_never_shows_the_values_it_was_given() -> None:
    with pytest.raises(ValidationError) as too_short:
        deployed(auth_secret="hunter2-is-my-token-secret")
    with pytest.raises(ValidationError) as refused:
        deployed(database_url="postgresql://cluetrail:cluetrail@db.example:5432/cluetrail")
    with pytest.raises(ValidationError) as unreadable:
        deployed(reporter_keys='{"prod-1": "' + OWN_KEY + '"')
    assert "hunter2" not in str(too_short.value)
    for error in (refused.value, unreadable.value):
        assert OWN_KEY not in str(error) and OWN_SECRET not in str(error)


def test_a_reporter_key_must_be_32_bytes() -> None:
    short = base64.b64encode(b"16 bytes only!!!").decode()
    with pytest.raises(ValidationError, match="'short' must be 32 bytes"):
        deployed(reporter_keys=json.dumps({"prod-1": OWN_KEY, "short": short}))
