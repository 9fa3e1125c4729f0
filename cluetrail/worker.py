"""The app of one worker process when a service runs several on one port (``CLUETRAIL_WORKERS`` > 1).

uvicorn starts each worker as a new process that imports its app by name, so ``cluetrail.service.run``
names the service's ``create_app`` and settings class in the environment, and each worker builds its own
app — pools, consumers, relay — from them, as a single process does.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from fastapi import FastAPI

from cluetrail.logs import configure_logging

FACTORY = "CLUETRAIL_WORKER_FACTORY"
SETTINGS = "CLUETRAIL_WORKER_SETTINGS"


def _named(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def app() -> FastAPI:
    configure_logging()
    settings = _named(os.environ[SETTINGS])()
    created: FastAPI = _named(os.environ[FACTORY])(settings)
    return created
