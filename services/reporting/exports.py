"""Tables as files: XLSX workbooks laid out like the annex forms (title, unit and period, Chinese headers)
and CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese headers)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
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


def cell_value(value: Any) -> Any:
    """What a cell holds: numbers stay numbers, booleans read 是/否, lists are joined, None is empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value)
    return value


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
        sheet.cell(row=1, column=1, value=table.title).font = Font(bold=True, size=14)
        sheet.cell(row=1, column=1).alignment = Alignment(horizontal="center")
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
        sheet.cell(row=2, column=1, value=unit_line(table))
        sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
        for index, column in enumerate(table.columns, start=1):
            cell = sheet.cell(row=HEADER_ROW, column=index, value=column.header)
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            cell.border = _BOX
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(column.header) * 2))
        for offset, row in enumerate(table.rows, start=1):
            for index, column in enumerate(table.columns, start=1):
                cell = sheet.cell(
                    row=HEADER_ROW + offset, column=index, value=cell_value(row.get(column.key))
                )
                cell.border = _BOX
        sheet.freeze_panes = sheet.cell(row=HEADER_ROW + 1, column=1)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(table: Table) -> bytes:
    """The header row (Chinese) and the data rows; no title lines, so the file loads as a plain table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in table.columns])
    for row in table.rows:
        writer.writerow([cell_value(row.get(c.key)) for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def export_bytes(tables: Sequence[Table], fmt: str) -> bytes:
    if fmt == "xlsx":
        return xlsx_bytes(tables)
    if fmt == "csv":
        if len(tables) != 1:
            raise ValueError("a CSV file holds one table; export the annex tables one by one or as xlsx")
        return csv_bytes(tables[0])
    raise ValueError(f"unknown format {fmt!r}: xlsx or csv")
