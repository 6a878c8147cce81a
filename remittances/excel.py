"""The remittance advice as an Excel workbook (openpyxl write-only): a header block, one row a line, the
totals. Text from the back office or the portal is only ever text: anything a spreadsheet would take for a
formula is written as a string cell with Excel's quote prefix (the claim form's rule, `actuals.claim_forms`).
Amounts and quantities are numbers, so the provider can add them up."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from actuals.claim_forms import XLSX_CONTENT_TYPE
from portal.spreadsheets import cell_text, needs_quote
from remittances import advice
from remittances.models import Remittance

__all__ = ["XLSX_CONTENT_TYPE", "remittance_workbook", "remittance_workbook_name"]

COLUMNS = [
    ("Person", 26),
    ("Client reference", 14),
    ("Kind", 16),
    ("Service", 20),
    ("Description", 48),
    ("Period start", 12),
    ("Period end", 12),
    ("Quantity", 10),
    ("Rate", 10),
    ("Amount", 12),
    ("Pays", 32),
    ("Back-office reference", 18),
]
MONEY_FORMAT = '"£"#,##0.00;-"£"#,##0.00'
QUANTITY_FORMAT = "0.##"
DATE_FORMAT = "dd/mm/yyyy"


class _Writer:
    def __init__(self, sheet: Any) -> None:
        self.sheet = sheet
        self.bold = Font(bold=True)

    def cell(self, value: Any, **style: Any) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value=value)
        for name, setting in style.items():
            setattr(cell, name, setting)
        return cell

    def text(self, value: str, **style: Any) -> Any:
        """Text that stays text: "=HYPERLINK(...)" is written as the words, quote-prefixed."""
        text = cell_text(value)
        if not needs_quote(text) and not style:
            return text
        cell = self.cell(None, **style)
        cell.value = text
        cell.data_type = "s"
        if needs_quote(text):
            cell.quotePrefix = True
        return cell

    def row(self, values: Iterable[Any]) -> None:
        self.sheet.append([self.text(value) if isinstance(value, str) else value for value in values])


def remittance_workbook_name(remittance: Remittance) -> str:
    return f"remittance-{remittance.ref}.xlsx"


def remittance_workbook(*, remittance: Remittance) -> bytes:
    provider = remittance.provider
    rows = advice.advice_rows(provider=provider, lines=list(advice.remittance_lines(remittance)), links=False)
    totals = advice.advice_totals(remittance)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Remittance advice")
    writer = _Writer(sheet)
    for index, (_heading, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    header_rows = 9
    sheet.freeze_panes = f"A{header_rows + 1}"

    sheet.append([writer.cell("Remittance advice", font=Font(bold=True, size=14))])
    for label, value in (
        ("Council", settings.COUNCIL_NAME),
        ("Provider", provider.name),
        ("Provider reference", provider.ref),
        ("Remittance", remittance.ref),
        ("Payment run", remittance.payment_run_ref),
    ):
        sheet.append([writer.cell(label, font=writer.bold), writer.text(value)])
    sheet.append(
        [writer.cell("Paid on", font=writer.bold), writer.cell(remittance.paid_on, number_format=DATE_FORMAT)]
    )
    sheet.append([])
    wrap = Alignment(wrap_text=True, vertical="top")
    sheet.append([writer.cell(heading, font=writer.bold, alignment=wrap) for heading, _ in COLUMNS])

    for row in rows:
        sheet.append(
            [
                writer.text(row.person_name),
                writer.text(row.person_ref),
                writer.text("Payment adjustment" if row.is_adjustment else row.kind_label),
                writer.text(row.service),
                writer.text(row.description),
                writer.cell(row.period_start, number_format=DATE_FORMAT) if row.period_start else None,
                writer.cell(row.period_end, number_format=DATE_FORMAT) if row.period_end else None,
                writer.cell(row.quantity, number_format=QUANTITY_FORMAT),
                writer.cell(row.rate, number_format=MONEY_FORMAT),
                writer.cell(row.amount, number_format=MONEY_FORMAT),
                writer.text(row.pays),
                writer.text(row.source_ref),
            ]
        )
    sheet.append([])
    amount_column = [heading for heading, _ in COLUMNS].index("Amount")
    for total_label, figure in (
        ("Paid for services", totals.services),
        ("Payment adjustments", totals.adjustments),
        ("Total paid", totals.total),
    ):
        padding = [None] * (amount_column - 1)
        sheet.append(
            [
                *padding,
                writer.cell(total_label, font=writer.bold),
                writer.cell(figure, number_format=MONEY_FORMAT),
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
