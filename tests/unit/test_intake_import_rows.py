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


@st.composite
def clues(draw: st.DrawFn) -> dict[str, Any]:
    """A valid clue as a JSON object, using only what the flat CSV columns can carry."""
    clue: dict[str, Any] = {
        "jurisdiction": draw(jurisdictions),
        "source": draw(st.sampled_from(list(ClueSource))).value,
        "subject": {"kind": draw(st.sampled_from(list(SubjectKind))).value, "name": draw(words)},
        "description": draw(words),
    }
    if draw(st.booleans()):
        clue["subject"]["address"] = draw(words)
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


def test_the_same_line_of_the_same_file_always_gets_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "clues.jsonl"
    key = idempotency_key(path, 3, '{"a": 1}')
    assert key == idempotency_key(tmp_path / "." / "clues.jsonl", 3, '{"a": 1}')
    assert len({key, idempotency_key(path, 4, '{"a": 1}'), idempotency_key(path, 3, '{"a": 2}')}) == 3
    assert 1 <= len(key) <= 200
