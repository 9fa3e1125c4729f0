"""SQL kept in files, the same way in every service: ``services/<name>/adapters/sql/`` holds the migrations
(``NNN_name.sql``, applied once each at start-up), ``queries/<name>.sql`` the named statements of one adapter
(each after a ``-- name: <key>`` line; a line ``-- include: <key>`` stands for a part of the same file, so
statements that share a filter or a CTE write it once), and ``templates/`` the SQL a service instantiates
(reporting's projection versions)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

_NAME = re.compile(r"^-- name: ([a-z_]+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"^[ \t]*-- include: ([a-z_]+)[ \t]*$", re.MULTILINE)


class SqlFiles:
    """The SQL files of one service package (e.g. ``services.intake``)."""

    def __init__(self, package: str) -> None:
        self.package = package

    @property
    def migrations(self) -> Traversable:
        """The folder of the service's migrations (``cluetrail.db.migrate`` keys them ``sql/<file>``)."""
        return resources.files(self.package).joinpath("adapters", "sql")

    def queries(self, name: str) -> Mapping[str, str]:
        """The statements of ``queries/<name>.sql`` by name."""
        return _statements(self.package, name)

    def template(self, name: str) -> str:
        """The text of ``templates/<name>.sql``."""
        return self.migrations.joinpath("templates", f"{name}.sql").read_text(encoding="utf-8")


@cache
def _statements(package: str, name: str) -> Mapping[str, str]:
    text = resources.files(package).joinpath("adapters", "sql", "queries", f"{name}.sql").read_text("utf-8")
    parts = _NAME.split(text)
    # parts = [preamble, name1, body1, name2, body2, ...]
    found = {key: body.strip() for key, body in zip(parts[1::2], parts[2::2], strict=True)}
    if len(found) != len(parts[1::2]):
        raise ValueError(f"{package} queries/{name}.sql names a statement twice")

    def expanded(key: str, seen: tuple[str, ...] = ()) -> str:
        if key in seen:
            raise ValueError(f"{package} queries/{name}.sql includes {key} within itself")
        if key not in found:
            raise ValueError(f"{package} queries/{name}.sql includes {key}, which it does not name")
        return _INCLUDE.sub(lambda m: _without_comments(expanded(m.group(1), (*seen, key))), found[key])

    return {key: expanded(key) for key in found}


def _without_comments(sql: str) -> str:
    """A part as it is included: its comment lines (which say what it is) left in the file."""
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
