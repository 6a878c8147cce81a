"""A report's figures as plain values, rendered three ways from the same object: on screen as GOV.UK tables
(templates/reports/_table.html), as an Excel workbook (reports/excel.py) and as a PDF (reports/pdf.py).

A selector computes a `Report` once; nothing downstream computes a figure again, so the page, the
workbook and the PDF cannot disagree. Values stay typed (int, Decimal, date, str, None) until rendered:
money is a Decimal to the penny, a share a Decimal fraction (0.875 is 87.5%).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from portal.formatting import money, quantity

Kind = Literal["text", "int", "money", "quantity", "percent", "date", "datetime"]
NUMERIC_KINDS = frozenset({"int", "money", "quantity", "percent"})


@dataclass(frozen=True)
class Column:
    label: str
    kind: Kind = "text"

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass
class Table:
    """One table of a report. `rows` are lists of values in the order of `columns`; `totals` likewise
    (None for a cell with no total). A `detail` table is a listing behind the figures: in the Excel
    file only, since it can run to thousands of rows."""

    key: str
    caption: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    totals: list[Any] | None = None
    empty: str = "Nothing matches these filters."
    detail: bool = False
    paged: bool = False  # shown a page at a time on screen (the file always has every row)


@dataclass
class Report:
    title: str
    filters: list[tuple[str, str]]  # (what, chosen) in words: the files' header, the page's summary
    tables: list[Table]
    notes: list[str] = field(default_factory=list)  # how the figures are made, in words

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    def rows_in(self, *, with_detail: bool) -> int:
        return sum(len(t.rows) for t in self.tables if with_detail or not t.detail)

    @property
    def filters_text(self) -> str:
        return "; ".join(f"{what}: {chosen}" for what, chosen in self.filters)


def share(part: int, whole: int) -> Decimal | None:
    """part / whole as a fraction to four places (a percentage to two), or None when whole is 0."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"))


def display(value: Any, kind: Kind) -> str:
    """A value as a page or a PDF shows it."""
    if value is None:
        return "–"
    if kind == "money":
        return money(value)
    if kind == "quantity":
        return quantity(value)
    if kind == "int":
        return f"{value:,}"
    if kind == "percent":
        text = f"{value * 100:.1f}".removesuffix(".0")
        return f"{text}%"
    if kind == "date" and isinstance(value, dt.date):
        return f"{value.day} {value:%b %Y}"
    if kind == "datetime" and isinstance(value, dt.datetime):
        from portal.clock import LONDON

        local = value.astimezone(LONDON)
        return f"{local.day} {local:%b %Y, %H:%M}"
    return str(value)


def displayed_rows(table: Table, rows: Sequence[list[Any]]) -> list[list[tuple[str, bool]]]:
    """Rows as the GOV.UK table component takes them: (text, is_numeric) cells."""
    kinds = [(c.kind, c.numeric) for c in table.columns]
    return [
        [(display(v, kind), numeric) for v, (kind, numeric) in zip(row, kinds, strict=True)] for row in rows
    ]


def displayed_totals(table: Table) -> list[tuple[str, bool]] | None:
    """The totals row as text: a cell with no total is empty."""
    if table.totals is None:
        return None
    return [
        ("" if v is None else display(v, c.kind), c.numeric)
        for v, c in zip(table.totals, table.columns, strict=True)
    ]


def head(table: Table) -> list[tuple[str, bool]]:
    return [(column.label, column.numeric) for column in table.columns]
