"""SQL kept in files: migrations in ``sql/``, the per-version template and named queries below it."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

SQL_FOLDER: Traversable = resources.files("services.reporting").joinpath("sql")
_NAME = re.compile(r"^-- name: ([a-z_]+)\s*$", re.MULTILINE)


def template(name: str) -> str:
    """The text of ``sql/templates/<name>.sql``."""
    return SQL_FOLDER.joinpath("templates", f"{name}.sql").read_text(encoding="utf-8")


@cache
def queries(name: str) -> dict[str, str]:
    """The statements of ``sql/queries/<name>.sql``, each introduced by a ``-- name: <key>`` line."""
    text = SQL_FOLDER.joinpath("queries", f"{name}.sql").read_text(encoding="utf-8")
    parts = _NAME.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    return {key: body.strip() for key, body in zip(parts[1::2], parts[2::2], strict=True)}
