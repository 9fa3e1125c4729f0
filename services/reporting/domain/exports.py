"""Tables as files: XLSX workbooks laid out like the annex forms (title, unit and period, Chinese headers)
and CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese headers).

What a case holds is data, never a spreadsheet instruction, and never a reason for an export to fail: every
cell of either format goes through ``cell_value`` (then ``xlsx_cell`` or ``csv_cell``), so a subject named
``=HYPERLINK(…)`` is text in a workbook and starts with a quote in CSV, and a control character an old event
carries prints as its visible symbol.

Pure (tables in, file bytes out, nothing read or written elsewhere), and part of the domain because the
layout of the annex forms and what a cell may hold are reporting's rules, the same for the HTTP export
and ``cluetrail report export``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from services.reporting.domain.tables import Table

# Sheet names (Excel allows 31 characters and no []:*?/\).
SHEET_NAMES = {
    "work": "工作情况统计表",
    "disposal": "风险线索排查处置情况统计表",
    "cross_province": "跨省非法集资案件(风险)办理情况登记统计表",
    "ledger": "动态管理台账",
    "risks": "总量风险清单",
    "key_risks": "重点风险线索管理台账",
    "ageing": "立案时限清单",
    "no_fundraising": "无非法集资社区(村)",
    "deadlines": "报送时限",
}
MEDIA_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
HEADER_ROW = 3  # row 1: title, row 2: unit and period, row 3: column headers, data from row 4
_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


# C0 control characters other than tab, line feed and carriage return: XML 1.0 cannot hold them, so openpyxl
# refuses them (its ILLEGAL_CHARACTERS_RE, plus U+0000). Intake refuses them now; events recorded before
# may still carry them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# OWASP's CSV injection triggers: a spreadsheet program runs a text cell starting with one as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def visible_text(text: str) -> str:
    """``text`` with each control character XML cannot hold replaced by its symbol (U+2400 + code: U+0001
    prints as ␁), so the export says a character was there instead of failing or dropping it."""
    return _CONTROL.sub(lambda m: chr(0x2400 + ord(m.group())), text)


def cell_value(value: Any) -> str | int | float | Decimal:
    """What a cell holds: numbers stay numbers, booleans read 是/否, lists are joined, None is empty,
    times are ISO 8601 text, anything else is text with its control characters made visible."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, list | tuple):
        return visible_text("、".join(str(v) for v in value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return visible_text(str(value))


def csv_cell(value: Any) -> str | int | float | Decimal:
    """A CSV field: ``cell_value``, and a text starting with a formula trigger (``= + - @``, tab, carriage
    return) gets a leading single quote, so a spreadsheet program shows it instead of running it."""
    held = cell_value(value)
    if isinstance(held, str) and held.startswith(FORMULA_TRIGGERS):
        return "'" + held
    return held


def xlsx_cell(cell: Cell, value: Any) -> Cell:
    """Write ``value`` into a workbook cell as a number or as text, never as a formula: openpyxl reads a
    string starting with ``=`` as a formula (and ``#N/A`` as an error) unless its type is set to text."""
    held = cell_value(value)
    cell.value = held
    if isinstance(held, str):
        cell.data_type = "s"
    return cell


def unit_line(table: Table) -> str:
    meta = table.meta
    parts = [f"填报单位：{meta.get('jurisdiction_name', '')}"]
    if meta.get("period_label") and table.name not in ("ledger", "risks", "key_risks"):
        parts.append(f"统计期：{meta['period_label']}")
    if meta.get("as_of"):
        parts.append(f"截至：{meta['as_of']}")
    if meta.get("submission"):
        parts.append(f"报送编号：{meta['submission']}")
    return "    ".join(parts)


def xlsx_bytes(tables: Sequence[Table]) -> bytes:
    """One sheet per table, in order."""
    book = Workbook()
    for sheet in list(book.worksheets):  # the default empty sheet
        book.remove(sheet)
    for table in tables:
        sheet = book.create_sheet(SHEET_NAMES.get(table.name, table.name)[:31])
        width = len(table.columns)
        title = xlsx_cell(sheet.cell(row=1, column=1), table.title)
        title.font = Font(bold=True, size=14)
        title.alignment = Alignment(horizontal="center")
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        xlsx_cell(sheet.cell(row=2, column=1), unit_line(table))
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
        for index, column in enumerate(table.columns, start=1):
            cell = xlsx_cell(sheet.cell(row=HEADER_ROW, column=index), column.header)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = _BOX
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(column.header) * 2))
        for offset, row in enumerate(table.rows, start=1):
            for index, column in enumerate(table.columns, start=1):
                cell = sheet.cell(row=HEADER_ROW + offset, column=index)
                xlsx_cell(cell, row.get(column.key)).border = _BOX
        sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(table: Table) -> bytes:
    """The header row (Chinese) and the data rows; no title lines, so the file loads as a plain table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([csv_cell(c.header) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_cell(row.get(c.key)) for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_bytes(tables: Sequence[Table], fmt: str) -> bytes:
    if fmt == "xlsx":
        return xlsx_bytes(tables)
    if fmt == "csv":
        if len(tables) != 1:
            raise ValueError("a CSV file holds one table; export the annex tables one by one or as xlsx")
        return csv_bytes(tables[0])
    raise ValueError(f"unknown format {fmt!r}: xlsx or csv")
