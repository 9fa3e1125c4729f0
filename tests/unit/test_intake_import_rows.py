"""Bulk-import files: JSONL and flat CSV read into numbered clues, bad lines named with their reasons."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cluetrail.demo import demo_clues
from contracts.api import ClueSubmission
from contracts.jurisdictions import default_registry
from contracts.vocabulary import ClueSource, RiskFlag, SubjectKind
from services.intake.domain.import_rows import (
    CSV_COLUMNS,
    UnreadableFile,
    csv_row_to_document,
    file_format,
    idempotency_key,
    parse_csv,
    parse_import,
    parse_jsonl,
    split_list,
)

codes = st.from_regex(r"[a-z][a-z0-9_]{1,40}", fullmatch=True)
jurisdictions = st.sampled_from([j.code for j in default_registry().all()])
# Text as people type it: Chinese, Latin, punctuation CSV must quote (commas, quotes, line breaks).
words = st.text(
    st.sampled_from(list('华都康养服务中心理财返利，。abcXYZ019 ,";-')) | st.just("\n"),
    min_size=1,
    max_size=60,
).filter(lambda s: s.strip() != "")
# A name or an address is one line: no line breaks (free text, the description, may have them).
line_words = words.map(lambda s: s.replace("\n", " ")).filter(lambda s: s.strip() != "")


@st.composite
def clues(draw: st.DrawFn) -> dict[str, Any]:
    """A valid clue as a JSON object, using only what the flat CSV columns can carry."""
    clue: dict[str, Any] = {
        "jurisdiction": draw(jurisdictions),
        "source": draw(st.sampled_from(list(ClueSource))).value,
        "subject": {"kind": draw(st.sampled_from(list(SubjectKind))).value, "name": draw(line_words)},
        "description": draw(words),
    }
    if draw(st.booleans()):
        clue["subject"]["address"] = draw(line_words)
    if draw(st.booleans()):
        clue["sector"] = draw(codes)
    clue["behaviours"] = draw(st.lists(codes, max_size=4))
    if draw(st.booleans()):
        clue["estimated_amount_yuan"] = draw(st.integers(0, 10**15))
    if draw(st.booleans()):
        clue["participants"] = draw(st.integers(0, 10**9))
    clue["flags"] = [
        f.value for f in draw(st.lists(st.sampled_from(list(RiskFlag)), max_size=3, unique=True))
    ]
    clue["regions_involved"] = draw(st.lists(jurisdictions, max_size=3))
    return clue


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS))
    writer.writeheader()
    for clue in rows:
        subject = clue["subject"]
        writer.writerow(
            {
                "jurisdiction": clue["jurisdiction"],
                "source": clue["source"],
                "subject_kind": subject["kind"],
                "subject_name": subject["name"],
                "address": subject.get("address", ""),
                "description": clue["description"],
                "sector": clue.get("sector", ""),
                "behaviours": ";".join(clue["behaviours"]),
                "estimated_amount_yuan": clue.get("estimated_amount_yuan", ""),
                "participants": clue.get("participants", ""),
                "flags": ";".join(clue["flags"]),
                "regions_involved": ";".join(clue["regions_involved"]),
            }
        )
    return out.getvalue()


@given(st.lists(clues(), min_size=1, max_size=5))
def test_a_csv_row_reads_as_the_same_clue_as_its_json(rows: list[dict[str, Any]]) -> None:
    parsed = list(parse_csv(as_csv(rows)))
    assert [r.errors for r in parsed] == [[] for _ in rows]
    assert [r.submission for r in parsed] == [ClueSubmission.model_validate(c) for c in rows]


@given(st.lists(clues(), min_size=1, max_size=5))
def test_csv_line_numbers_point_at_where_each_record_starts(rows: list[dict[str, Any]]) -> None:
    text = as_csv(rows)
    physical = text.splitlines()
    for row, clue in zip(parse_csv(text), rows, strict=True):
        assert clue["jurisdiction"] in physical[row.line - 1]


@given(st.lists(clues(), min_size=1, max_size=5), st.lists(st.sampled_from(["", "  "]), max_size=3))
def test_jsonl_rows_keep_their_editor_line_numbers(rows: list[dict[str, Any]], blanks: list[str]) -> None:
    lines = blanks + [json.dumps(c, ensure_ascii=False) for c in rows]
    parsed = list(parse_jsonl("\n".join(lines)))
    assert [r.line for r in parsed] == list(range(len(blanks) + 1, len(lines) + 1))
    assert all(r.submission is not None for r in parsed)


@given(st.lists(codes, max_size=6))
def test_a_semicolon_cell_splits_into_its_codes(items: list[str]) -> None:
    assert split_list(" ; ".join(items)) == items
    assert split_list(";".join(items) + ";") == items


def test_empty_csv_cells_are_left_out_and_subject_columns_nest() -> None:
    row = {c: "" for c in CSV_COLUMNS} | {
        "jurisdiction": "340102L01003",
        "subject_kind": "shop",
        "subject_name": " 大店生活超市 ",
        "credit_code": "91340102MA2TEQ001R",
        "flags": "public_outcry;vulnerable_targets",
    }
    assert csv_row_to_document(row) == {
        "jurisdiction": "340102L01003",
        "subject": {"kind": "shop", "name": "大店生活超市", "credit_code": "91340102MA2TEQ001R"},
        "flags": ["public_outcry", "vulnerable_targets"],
    }


def test_bad_jsonl_lines_are_named_with_their_reasons() -> None:
    good = json.dumps(demo_clues(1)[0], ensure_ascii=False)
    negative = json.dumps({**demo_clues(1)[0], "estimated_amount_yuan": -1}, ensure_ascii=False)
    rows = parse_import("\n".join([good, "{oops", "[1, 2]", negative, good]), "jsonl")
    assert [(r.line, r.submission is not None) for r in rows] == [
        (1, True),
        (2, False),
        (3, False),
        (4, False),
        (5, True),
    ]
    assert rows[1].reason.startswith("not JSON")
    assert rows[2].reason == "not a JSON object"
    assert rows[3].reason == "estimated_amount_yuan: Input should be greater than or equal to 0"


def test_bad_csv_cells_are_named_by_their_column() -> None:
    header = ",".join(CSV_COLUMNS)
    cells = {c: "" for c in CSV_COLUMNS} | {
        "jurisdiction": "340102L01001",
        "source": "grid_patrol",
        "subject_kind": "company",
        "subject_name": "华都财富管理有限公司",
        "credit_code": "91340102MA2TEQ0010",
        "description": "推介理财产品",
        "participants": "many",
    }
    (row,) = parse_csv(header + "\n" + ",".join(cells[c] for c in CSV_COLUMNS) + "\n")
    assert row.line == 2
    assert [e["field"] for e in row.errors] == ["credit_code", "participants"]
    assert "expected 'R'" in row.reason


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("jurisdiction,source,subject_kind,subject_name,description,colour", "unknown columns colour"),
        ("jurisdiction,source,subject_name,description", "missing columns subject_kind"),
    ],
)
def test_a_csv_with_a_wrong_header_cannot_be_read(header: str, message: str) -> None:
    with pytest.raises(UnreadableFile, match=message):
        list(parse_csv(header + "\n"))


def test_the_file_kind_comes_from_its_extension() -> None:
    assert file_format(Path("clues.JSONL")) == "jsonl"
    assert file_format(Path("clues.csv")) == "csv"
    with pytest.raises(UnreadableFile, match=r"unknown file kind \.xlsx"):
        file_format(Path("clues.xlsx"))


def test_a_clue_s_key_is_its_content_wherever_it_is_read() -> None:
    """Keys were made of the file's path and the line number: a copy of the file, or the same file with
    a line inserted, imported every clue again as a new case."""
    clue = demo_clues(1, seed=7)[0]
    text = json.dumps(clue, ensure_ascii=False)
    spaced = json.dumps(dict(reversed(list(clue.items()))), ensure_ascii=False, indent=2).replace("\n", "")
    (first,) = parse_import(text, "jsonl")
    (*_, moved) = parse_import("\n".join([json.dumps(demo_clues(1, seed=8)[0]), spaced]), "jsonl")
    assert first.submission is not None and moved.submission is not None
    key = idempotency_key(first.submission)
    assert key == idempotency_key(moved.submission)
    other = ClueSubmission.model_validate({**clue, "description": clue["description"] + "（补充）"})
    assert idempotency_key(other) != key
    assert 1 <= len(key) <= 200


def test_a_control_character_is_a_per_line_error_naming_the_field() -> None:
    clue = demo_clues(1, seed=9)[0]
    clue["subject"]["name"] = "华都\u0001康养"
    bell = {**demo_clues(1, seed=10)[0], "description": "以养老为名\u0007吸收资金"}
    multiline = {**demo_clues(1, seed=11)[0], "description": "以养老为名\n\t吸收资金\r\n"}
    rows = parse_import(
        "\n".join(json.dumps(c, ensure_ascii=False) for c in (clue, bell, multiline)), "jsonl"
    )
    assert [e["field"] for e in rows[0].errors] == ["subject.name"]
    assert "U+0001" in rows[0].reason
    assert [e["field"] for e in rows[1].errors] == ["description"]
    assert rows[2].submission is not None  # tab and line breaks are kept in free text

    header = ",".join(CSV_COLUMNS)
    cells = {c: "" for c in CSV_COLUMNS} | {
        "jurisdiction": "340102L01001",
        "source": "grid_patrol",
        "subject_kind": "shop",
        "subject_name": "华都\x1b[31m康养",
        "description": "推介理财产品",
        "estimated_amount_yuan": "1000000",
    }
    (row,) = parse_csv(header + "\n" + ",".join(cells[c] for c in CSV_COLUMNS) + "\n")
    assert [e["field"] for e in row.errors] == ["subject_name"]


@pytest.mark.parametrize(("cell", "valid"), [("1000000", True), ("1e6", False), ("1,000", False)])
def test_a_csv_amount_is_a_whole_number_or_an_error(cell: str, valid: bool) -> None:
    header = ",".join(CSV_COLUMNS)
    cells = {c: "" for c in CSV_COLUMNS} | {
        "jurisdiction": "340102L01001",
        "source": "grid_patrol",
        "subject_kind": "shop",
        "subject_name": "华都康养",
        "description": "推介理财产品",
        "estimated_amount_yuan": f'"{cell}"',
    }
    (row,) = parse_csv(header + "\n" + ",".join(cells[c] for c in CSV_COLUMNS) + "\n")
    assert (row.submission is not None) == valid, row.reason
    if valid:
        assert row.submission is not None and row.submission.estimated_amount_yuan == 1_000_000
