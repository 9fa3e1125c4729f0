"""Bulk-import files: JSONL (one ClueSubmission object per line) or flat CSV, read into numbered rows.

Each row is validated with the contract model before anything is sent, exactly as intake validates a
body (JSON semantics, strict), so a bad line is reported with its line number and reasons and never
reaches intake. A clue's idempotency key is a digest of its content, so a clue imported before (from
this file, a copy of it, or a longer version of it) adds nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from contracts.api import ClueSubmission
from services.intake.domain.clues import request_digest

FileFormat = Literal["jsonl", "csv"]
FORMAT_BY_SUFFIX: dict[str, FileFormat] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

CSV_COLUMNS = (
    "jurisdiction",
    "source",
    "subject_kind",
    "subject_name",
    "credit_code",
    "address",
    "legal_representative",
    "description",
    "sector",
    "behaviours",
    "estimated_amount_yuan",
    "participants",
    "flags",
    "regions_involved",
    "observed_at",
)
REQUIRED_CSV_COLUMNS = ("jurisdiction", "source", "subject_kind", "subject_name", "description")
LIST_COLUMNS = ("behaviours", "flags", "regions_involved")
# Whole numbers in a CSV cell become JSON integers; anything else stays text for the model to refuse.
INTEGER_COLUMNS = ("estimated_amount_yuan", "participants")
_INTEGER = re.compile(r"[+-]?[0-9]+")
SUBJECT_COLUMNS = {
    "subject_kind": "kind",
    "subject_name": "name",
    "credit_code": "credit_code",
    "address": "address",
    "legal_representative": "legal_representative",
}


class UnreadableFile(ValueError):
    """An import file that cannot be read as a whole (unknown kind, bad CSV header, not UTF-8)."""


@dataclass(frozen=True)
class ImportRow:
    """One clue of an import file: where it is, its text, and either the clue or why it is not one."""

    line: int
    text: str
    submission: ClueSubmission | None = None
    errors: list[dict[str, str]] = field(default_factory=list)

    @property
    def reason(self) -> str:
        return "; ".join(f"{e['field']}: {e['reason']}" if e["field"] else e["reason"] for e in self.errors)


def file_format(path: Path) -> FileFormat:
    """The format an import file is read in, decided by its extension."""
    try:
        return FORMAT_BY_SUFFIX[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMAT_BY_SUFFIX))
        kind = path.suffix or "(none)"
        raise UnreadableFile(f"{path.name}: unknown file kind {kind}; use {known}") from None


def idempotency_key(submission: ClueSubmission) -> str:
    """A clue's key is its content (``request_digest``: the normalised clue, not where it was read), so
    the same clue in another file, at another line or written with other spacing is one case, and
    re-running an import, or importing a copy with lines added, adds only the new clues."""
    return f"import-{request_digest(submission)}"


def split_list(cell: str) -> list[str]:
    """A semicolon-separated CSV cell as a list, blanks dropped."""
    return [item.strip() for item in cell.split(";") if item.strip()]


def csv_row_to_document(row: dict[str, str]) -> dict[str, Any]:
    """A flat CSV row as a ClueSubmission document; empty cells are left out, whole numbers in the number
    columns become integers, anything else stays text for the model to check."""
    document: dict[str, Any] = {}
    subject: dict[str, Any] = {}
    for column, raw in row.items():
        cell = (raw or "").strip()
        if not cell:
            continue
        if column in SUBJECT_COLUMNS:
            subject[SUBJECT_COLUMNS[column]] = cell
        elif column in LIST_COLUMNS:
            document[column] = split_list(cell)
        elif column in INTEGER_COLUMNS and _INTEGER.fullmatch(cell):
            document[column] = int(cell)
        else:
            document[column] = cell
    if subject:
        document["subject"] = subject
    return document


def _field_name(loc: tuple[int | str, ...], fmt: FileFormat) -> str:
    path = [str(part) for part in loc]
    if fmt == "csv" and path[:1] == ["subject"] and len(path) > 1:
        column = {v: k for k, v in SUBJECT_COLUMNS.items()}.get(path[1], path[1])
        return ".".join([column, *path[2:]])
    return ".".join(path)


def validation_errors(exc: ValidationError, fmt: FileFormat) -> list[dict[str, str]]:
    """A model's validation errors as (field, reason) pairs, named as the file names them."""
    return [
        {"field": _field_name(e["loc"], fmt), "reason": e["msg"]}
        for e in exc.errors(include_url=False, include_context=False)
    ]


def validate_document(line: int, text: str, document: object, fmt: FileFormat) -> ImportRow:
    """The row's clue, validated as intake validates a request body (JSON, strict)."""
    try:
        submission = ClueSubmission.model_validate_json(json.dumps(document, ensure_ascii=False))
        return ImportRow(line, text, submission)
    except ValidationError as exc:
        return ImportRow(line, text, errors=validation_errors(exc, fmt))


def parse_jsonl(content: str) -> Iterator[ImportRow]:
    """One row per non-blank line, numbered from 1 as an editor shows them."""
    for number, text in enumerate(content.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            yield ImportRow(number, text, errors=[{"field": "", "reason": f"not JSON: {exc.msg}"}])
            continue
        if not isinstance(document, dict):
            yield ImportRow(number, text, errors=[{"field": "", "reason": "not a JSON object"}])
            continue
        yield validate_document(number, text, document, "jsonl")


def parse_csv(content: str) -> Iterator[ImportRow]:
    """One row per CSV record after the header; the line number is where the record starts."""
    reader = csv.DictReader(io.StringIO(content, newline=""))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in CSV_COLUMNS]
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in header]
    if unknown or missing:
        parts = ([f"unknown columns {', '.join(unknown)}"] if unknown else []) + (
            [f"missing columns {', '.join(missing)}"] if missing else []
        )
        raise UnreadableFile(f"CSV header: {'; '.join(parts)} (columns: {', '.join(CSV_COLUMNS)})")
    start = reader.line_num + 1
    for row in reader:
        # A record is its cells as written; the line text for the idempotency key is their JSON.
        text = json.dumps([row.get(c) for c in header], ensure_ascii=False)
        number, start = start, reader.line_num + 1
        if None in row:
            yield ImportRow(number, text, errors=[{"field": "", "reason": "more cells than columns"}])
            continue
        if all(not (cell or "").strip() for cell in row.values()):
            continue
        yield validate_document(number, text, csv_row_to_document(row), "csv")


def parse_import(content: str, fmt: FileFormat) -> list[ImportRow]:
    """Every row of an import file, valid or not, in file order."""
    return list(parse_jsonl(content) if fmt == "jsonl" else parse_csv(content))
