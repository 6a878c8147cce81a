"""Text in the workbooks the portal writes (claim forms, inbox and report exports) is only ever text.

A cell whose text starts with "=", "+", "-", "@", a tab or a carriage return would be taken for a formula
by a spreadsheet (and is how CSV and Excel injection works): such text is written as a string cell with
Excel's quote prefix, so that it shows as typed and editing the cell does not make it a formula either.
"""

from __future__ import annotations

from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: str) -> str:
    """Text as a cell holds it: Excel keeps only "\\n" line breaks and XML cannot carry some control
    characters, so both sides of a comparison go through this and a re-upload changes nothing."""
    if value.isprintable():  # no control characters at all: the common case, checked at C speed
        return value.strip()
    return ILLEGAL_CHARACTERS_RE.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def needs_quote(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def text_cell(sheet: Any, value: str) -> str | WriteOnlyCell:
    """A write-only sheet's cell for `value` that is only ever text."""
    text = cell_text(value)
    if not needs_quote(text):
        return text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell
