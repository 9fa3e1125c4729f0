"""SQL kept in files: named statements, and parts of a file included where statements share them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluetrail.sqlfiles import SqlFiles

SERVICES = ("intake", "triage", "reporting", "notify")


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    """A package of its own per test (statements are cached per package and file)."""
    name = f"sqlpkg_{tmp_path.name.replace('-', '_')}"
    queries = tmp_path / name / "adapters" / "sql" / "queries"
    queries.mkdir(parents=True)
    (tmp_path / name / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    try:
        yield queries
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop(name, None)


def statements(queries: Path, text: str) -> dict[str, str]:
    (queries / "q.sql").write_text(text, encoding="utf-8")
    return dict(SqlFiles(queries.parents[2].name).queries("q"))


def test_an_included_part_stands_in_its_place_without_its_comments(package: Path) -> None:
    found = statements(
        package,
        "-- name: open_cases\n-- what the part is\nWHERE status = 'open'\n\n"
        "-- name: count\nSELECT count(*) FROM ledger\n-- include: open_cases\n\n"
        "-- name: page\nSELECT * FROM ledger\n    -- include: open_cases\nLIMIT $1\n",
    )
    assert found["count"] == "SELECT count(*) FROM ledger\nWHERE status = 'open'"
    assert found["page"] == "SELECT * FROM ledger\nWHERE status = 'open'\nLIMIT $1"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-- name: a\nSELECT 1\n-- include: b\n", "includes b, which it does not name"),
        ("-- name: a\n-- include: b\n-- name: b\n-- include: a\n", "includes a within itself"),
        ("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n", "names a statement twice"),
    ],
)
def test_a_file_that_cannot_be_read_as_statements_is_refused(package: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        statements(package, text)


@pytest.mark.parametrize("service", SERVICES)
def test_every_statement_of_every_service_reads(service: str) -> None:
    files = SqlFiles(f"services.{service}")
    for path in files.migrations.joinpath("queries").iterdir():
        if path.name.endswith(".sql"):
            for key, sql in files.queries(path.name.removesuffix(".sql")).items():
                assert sql.strip() and "-- include:" not in sql, (service, path.name, key)
