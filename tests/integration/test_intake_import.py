"""``cluetrail import`` against the running intake: good lines become cases once, however often the file
is imported; a bad line is named in the report and the exit code says something failed."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from cluetrail.demo import demo_clues
from cluetrail.kafka import read_log
from cluetrail.settings import CommonSettings
from contracts.events import parse_document
from tests.commands import cluetrail
from tests.harness import Stack

pytestmark = pytest.mark.integration


def subjects_in_log(settings: CommonSettings, names: set[str]) -> list[str]:
    """The subject name of every clue-reported event in the log whose subject is one of ``names``."""

    async def collect() -> list[str]:
        found = []
        async for records, _ in read_log(settings):
            for record in records:
                document = parse_document(record.value or b"")
                name = document.get("payload", {}).get("subject", {}).get("name")
                if document.get("type") == "clue-reported" and name in names:
                    found.append(name)
        return found

    return asyncio.run(collect())


def run_import(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return cluetrail(stack, "import", *args, "--url", stack.url("intake"))


def test_import_accepts_good_lines_once_and_names_the_bad_line(
    stack: Stack, stack_settings: CommonSettings, tmp_path: Path
) -> None:
    batch = uuid.uuid4().hex[:8]
    clues: list[dict[str, Any]] = demo_clues(4, seed=int(batch, 16))
    for index, clue in enumerate(clues):
        clue["subject"]["name"] = f"导入测试{batch}-{index}"
    clues[2]["estimated_amount_yuan"] = -100  # line 3 is bad
    good = {c["subject"]["name"] for i, c in enumerate(clues) if i != 2}
    source = tmp_path / "clues.jsonl"
    source.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in clues), encoding="utf-8")
    errors = tmp_path / "errors.jsonl"

    first = run_import(stack, str(source), "--errors", str(errors), "--concurrency", "2")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "accepted: 3, rejected: 1" in first.stdout
    reported = [json.loads(line) for line in errors.read_text(encoding="utf-8").splitlines()]
    assert [r["line"] for r in reported] == [3]
    assert "estimated_amount_yuan" in reported[0]["reason"]
    assert sorted(subjects_in_log(stack_settings, good | {clues[2]["subject"]["name"]})) == sorted(good)

    again = run_import(stack, str(source))
    assert again.returncode == 1, again.stdout + again.stderr
    assert "accepted: 3, rejected: 1" in again.stdout
    assert sorted(subjects_in_log(stack_settings, good)) == sorted(good)  # still one case per line


def test_import_of_an_unreadable_file_exits_2(stack: Stack, tmp_path: Path) -> None:
    missing = run_import(stack, str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2, missing.stdout + missing.stderr
    wrong_kind = tmp_path / "clues.xlsx"
    wrong_kind.write_bytes(b"PK")
    refused = run_import(stack, str(wrong_kind))
    assert refused.returncode == 2
    assert "unknown file kind" in refused.stdout


def test_a_copy_of_a_file_with_lines_added_imports_only_the_new_clues(
    stack: Stack, stack_settings: CommonSettings, tmp_path: Path
) -> None:
    """Keys came from the file's path and line: the same clues in a copied or extended file (or one line
    inserted above them) became second cases."""
    batch = uuid.uuid4().hex[:8]
    clues: list[dict[str, Any]] = demo_clues(5, seed=int(batch, 16))
    for index, clue in enumerate(clues):
        clue["subject"]["name"] = f"复制导入{batch}-{index}"
    names = {c["subject"]["name"] for c in clues}
    first = tmp_path / "clues.jsonl"
    first.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in clues[:3]), encoding="utf-8")
    imported = run_import(stack, str(first))
    assert imported.returncode == 0, imported.stdout + imported.stderr

    # Elsewhere, with a new clue on top, the old ones moved down and respaced, another new one at the end.
    copy = tmp_path / "copies" / "clues-extended.jsonl"
    copy.parent.mkdir()
    lines = [clues[3], *clues[:3], clues[4], clues[0]]
    copy.write_text(
        "".join(json.dumps(c, indent=1).replace("\n", "") + "\n" for c in lines), encoding="utf-8"
    )
    extended = run_import(stack, str(copy))
    assert extended.returncode == 0, extended.stdout + extended.stderr
    assert "accepted: 6, rejected: 0" in extended.stdout
    assert sorted(subjects_in_log(stack_settings, names)) == sorted(names)  # one case per clue
