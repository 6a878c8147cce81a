"""A report as a PDF, laid out by WeasyPrint through the portal's document fetcher (remittances/pdf.py:
only the portal's own static files, nothing from the network or the disk). Detail listings are left out:
they can run to thousands of rows, and are in the Excel file."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.template.loader import render_to_string

from portal import clock
from portal.clock import LONDON
from reports.tables import Report, displayed_rows, displayed_totals, head

Progress = Callable[[int, str], None]


def report_pdf(report: Report, *, progress: Progress | None = None) -> tuple[bytes, int]:
    """The PDF (bytes) and its number of pages."""
    from remittances.pdf import render_pdf  # WeasyPrint is imported only by what makes PDFs

    made = clock.now().astimezone(LONDON)
    tables = [
        (table, head(table), displayed_rows(table, table.rows), displayed_totals(table))
        for table in report.tables
        if not table.detail
    ]
    html = render_to_string(
        "reports/pdf/report.html",
        {
            "report": report,
            "tables": tables,
            "council_name": settings.COUNCIL_NAME,
            "service_name": settings.SERVICE_NAME,
            "made_at": f"{made.day} {made:%B %Y, %H:%M}",
        },
    )
    if progress:
        progress(40, "Laying out the pages")
    return render_pdf(html, progress=progress)
