"""Session fixtures: the real services on the real broker and database (see tests/harness.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluetrail.settings import CommonSettings
from tests.harness import ROOT, Stack, WebhookRecorder

# Settings are read from the environment, which must name one (local: development keys allowed); set
# before any test module reads them, such as the fuzz tests' documents at collection.
os.environ.setdefault("CLUETRAIL_ENVIRONMENT", "local")


@pytest.fixture(scope="session")
def recorder() -> Iterator[WebhookRecorder]:
    receiver = WebhookRecorder()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def stack(recorder: WebhookRecorder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The four services, started once per session against the broker and database ``make test`` runs."""
    workdir = Path(os.environ.get("CLUETRAIL_TEST_WORKDIR") or tmp_path_factory.mktemp("stack"))
    running = Stack(workdir, recorder)
    try:
        running.start_all()
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def stack_settings(stack: Stack) -> CommonSettings:
    """Settings as the services see them (same topics and databases), for tests that read Kafka or SQL."""
    env = {k[len("CLUETRAIL_") :].lower(): v for k, v in stack.env.items() if k.startswith("CLUETRAIL_")}
    known = CommonSettings.model_fields
    return CommonSettings(**{k: v for k, v in env.items() if k in known})


__all__ = ["ROOT"]
