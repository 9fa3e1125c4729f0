"""Every file the services read at run time ships in the package: ``pip install .`` (not editable, as the
image installs it) must carry the SQL migrations and queries of every service and of cluetrail, reporting's
projection templates and pages, notify's message templates, contracts' data and schemas and triage's rule
files, or the installed service fails on its first read.

The check reads the configuration setuptools builds the wheel from (``pyproject.toml``: the packages found
and the package-data globs, applied per package directory as setuptools globs them) and asks it for every
file on disk under the packages that is not Python source: a file added where no glob reaches fails here,
not in a deployment.
"""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path
from typing import Any

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parents[2]


def data_files(root: Path) -> set[str]:
    """Every file under the packages' top folders that is not Python source (paths relative to ``root``)."""
    tops = {pattern.split(".")[0].rstrip("*") for pattern in _find(root)["include"]}
    return {
        path.relative_to(root).as_posix()
        for top in tops
        for path in (root / top).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }


def shipped_data(root: Path) -> set[str]:
    """The files the package-data globs of ``root``'s pyproject.toml put into the wheel."""
    config = _setuptools(root)
    package_data: dict[str, list[str]] = config.get("package-data", {})
    shipped: set[str] = set()
    # pyproject configuration finds namespace packages too: every folder under an included name is one.
    for package in find_namespace_packages(where=str(root), include=_find(root)["include"]):
        folder = root.joinpath(*package.split("."))
        for pattern in [*package_data.get(package, []), *package_data.get("*", [])]:
            for found in glob.glob(str(folder / pattern), recursive=True):
                if Path(found).is_file():
                    shipped.add(Path(found).relative_to(root).as_posix())
    return shipped


def _setuptools(root: Path) -> dict[str, Any]:
    config: dict[str, Any] = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "setuptools"
    ]
    return config


def _find(root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = _setuptools(root)["packages"]["find"]
    return found


def test_every_data_file_of_the_services_ships_in_the_package() -> None:
    on_disk = data_files(ROOT)
    # the kinds of file the services read at run time are all there to be checked
    for expected in (
        "cluetrail/sql/002_outbox.sql",
        "services/intake/adapters/sql/001_intake_clues.sql",
        "services/notify/adapters/sql/queries/cases.sql",
        "services/reporting/adapters/sql/templates/projection.sql",
        "services/reporting/entrypoints/http/templates/case.html",
        "services/notify/templates/escalated.j2",
        "services/triage/triage-rules-2026.2.json",
        "services/triage/write-off-2026.1.json",
        "contracts/data/jurisdictions.json",
        "contracts/asyncapi/asyncapi.json",
    ):
        assert expected in on_disk, expected
    assert sorted(on_disk - shipped_data(ROOT)) == []


def test_a_data_file_no_glob_reaches_is_found(tmp_path: Path) -> None:
    """The check fails for a file the configuration would leave out of the wheel."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.packages.find]\ninclude = ["shop*"]\n\n'
        '[tool.setuptools.package-data]\n"*" = ["*.sql"]\nshop = ["templates/*.html"]\n',
        encoding="utf-8",
    )
    for name in ("__init__.py", "sql/001_shop.sql", "templates/page.html", "static/site.css"):
        (tmp_path / "shop" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "shop" / name).write_text("", encoding="utf-8")
    assert data_files(tmp_path) - shipped_data(tmp_path) == {"shop/static/site.css"}
