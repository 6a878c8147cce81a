"""A report as an Excel workbook: one sheet a table, written with openpyxl's write-only mode.

Every text cell goes through `portal.spreadsheets.text_cell`, so text a provider or a person typed (a
thread's subject, a name) is only ever text, never a formula. Numbers stay numbers (money to the penny
with a money format, shares as percentages) so the figures can be summed in Excel.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from portal.clock import LONDON
from portal.spreadsheets import text_cell
from reports.tables import Report, Table

MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
DATE_FORMAT = "d mmm yyyy"
DATETIME_FORMAT = "d mmm yyyy hh:mm"
SHEET_NAME_MAX = 31

Progress = Callable[[int, str], None]


def sheet_title(caption: str, taken: set[str]) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\, unique in the workbook."""
    base = re.sub(r"[\[\]:*?/\\]", "-", caption).strip("'") or "Sheet"
    title, n = base[:SHEET_NAME_MAX], 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: SHEET_NAME_MAX - len(suffix)].rstrip(" -") + suffix, n + 1
    taken.add(title.lower())
    return title


def _styled(sheet: Any, value: Any, number_format: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = number_format
    return cell


def _converter(sheet: Any, kind: str) -> Callable[[Any], Any]:
    """How a column's values become cells. Text, in whatever column (a totals row's label, a value a
    report gives as words), is only ever text: openpyxl takes a string that starts with "=" for a formula."""
    convert = _typed_converter(sheet, kind)

    def cell(value: Any) -> Any:
        if isinstance(value, str):
            return text_cell(sheet, value)
        return convert(value)

    return cell


def _typed_converter(sheet: Any, kind: str) -> Callable[[Any], Any]:
    if kind == "text":
        return lambda v: None if v is None else text_cell(sheet, str(v))
    if kind == "money":
        return lambda v: None if v is None else _styled(sheet, Decimal(v), MONEY_FORMAT)
    if kind == "percent":
        return lambda v: None if v is None else _styled(sheet, float(v), PERCENT_FORMAT)
    if kind == "date":
        return lambda v: None if v is None else _styled(sheet, v, DATE_FORMAT)
    if kind == "datetime":

        def local(v: Any) -> Any:
            if v is None:
                return None
            naive = v.astimezone(LONDON).replace(tzinfo=None) if isinstance(v, dt.datetime) else v
            return _styled(sheet, naive, DATETIME_FORMAT)

        return local
    return lambda v: v  # int, quantity: plain numbers


def _write_table(workbook: Workbook, table: Table, report: Report, taken: set[str]) -> None:
    sheet = workbook.create_sheet(sheet_title(table.caption, taken))
    bold = Font(bold=True)

    def heading(text: str) -> WriteOnlyCell:
        cell = text_cell(sheet, text)  # safe text: a cell already when it needs the quote prefix
        if isinstance(cell, str):
            cell = WriteOnlyCell(sheet, value=cell)
        cell.font = bold
        return cell

    sheet.append([heading(f"{report.title}: {table.caption}")])
    for what, chosen in report.filters:
        sheet.append([text_cell(sheet, what), text_cell(sheet, chosen)])
    sheet.append([])
    sheet.append([heading(column.label) for column in table.columns])
    converters = [_converter(sheet, column.kind) for column in table.columns]
    for row in table.rows:
        sheet.append([convert(value) for convert, value in zip(converters, row, strict=True)])
    if table.totals is not None:
        sheet.append([convert(value) for convert, value in zip(converters, table.totals, strict=True)])
    if not table.rows:
        sheet.append([text_cell(sheet, table.empty)])


def report_workbook(report: Report, *, progress: Progress | None = None) -> bytes:
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    tables = report.tables
    for i, table in enumerate(tables):
        if progress:
            progress(40 + int(50 * i / max(1, len(tables))), f"Writing “{table.caption}”")
        _write_table(workbook, table, report, taken)
    notes = workbook.create_sheet(sheet_title("About these figures", taken))
    notes.append([text_cell(notes, report.title)])
    for what, chosen in report.filters:
        notes.append([text_cell(notes, what), text_cell(notes, chosen)])
    notes.append([])
    for note in report.notes:
        notes.append([text_cell(notes, note)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
