"""The claim form and call-monitoring pages in a real browser, as provider A's user: from the week's page
to each upload page, a file far too big (refused as it arrives), a claim form with a formula (its problems
listed), a good one previewed and applied, a file of visits previewed (its unmatched visits listed) and
applied. axe is clean on every page."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from actuals import claim_forms
from actuals.models import ActualLine
from actuals.services import actuals_generate
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council

pytestmark = pytest.mark.django_db(transaction=True)

WEEK = dt.date(2026, 11, 16)
WEEK_URL = f"/actuals/{WEEK.isoformat()}/"
XLSX = claim_forms.XLSX_CONTENT_TYPE


def _filled_in(line: ActualLine, *, delivered: object, comment: str) -> bytes:
    workbook = openpyxl.load_workbook(
        io.BytesIO(claim_forms.claim_form_workbook(provider=line.provider, week=line.week))
    )
    sheet = workbook[claim_forms.CLAIM_SHEET]
    columns = {cell.value: cell.column for cell in sheet[claim_forms.HEADING_ROW]}
    row = next(
        r for r in range(claim_forms.FIRST_DATA_ROW, sheet.max_row + 1) if sheet.cell(r, 1).value == line.pk
    )
    sheet.cell(row, columns["Delivered"]).value = delivered
    sheet.cell(row, columns["Comment"]).value = comment
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_claim_form_and_visits_pages(page: Page, live_server, council: Council) -> None:
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
    line = ActualLine.objects.select_related("provider", "week").get(provider=council.provider_a)
    sign_in(page, live_server.url, council.users["provider_a"])

    page.goto(live_server.url + WEEK_URL)
    page.get_by_role("link", name="Upload a claim form").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload a claim form")
    assert_accessible(page)

    page.get_by_role("button", name="Upload and check").click()  # no file chosen
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    # Far over the limit: refused as it arrives (portal/uploads.py), the CSRF token read before the file,
    # and the browser shows the page rather than a reset connection.
    page.get_by_label("Upload your claim form").set_input_files(
        files=[{"name": "big.xlsx", "mimeType": XLSX, "buffer": b"\0" * (3 * claim_forms.MAX_UPLOAD_BYTES)}]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_text("The claim form must be smaller than 5 MB").first).to_be_visible()
    assert page.title().startswith("Error: ")

    page.get_by_label("Upload your claim form").set_input_files(
        files=[
            {"name": "claim.xlsx", "mimeType": XLSX, "buffer": _filled_in(line, delivered="=9+1", comment="")}
        ]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your claim form")
    expect(page.get_by_text("The cell holds a formula").first).to_be_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    page.goto(live_server.url + WEEK_URL + "claim-form/upload/")
    page.get_by_label("Upload your claim form").set_input_files(
        files=[
            {"name": "claim.xlsx", "mimeType": XLSX, "buffer": _filled_in(line, delivered=9, comment="Short")}
        ]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your claim form")
    assert_accessible(page)
    page.get_by_role("button", name="Apply the changes to 1 line").click()
    expect(page.get_by_text("Claim form applied: 1 line changed (2 values).")).to_be_visible()
    assert_accessible(page)
    line.refresh_from_db()
    assert line.delivered == 9 and line.comment == "Short"

    page.get_by_role("link", name="Import call monitoring visits").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import call monitoring visits")
    assert_accessible(page)
    ref = line.care_package_line.service_user.ref
    visits = f"Client reference,Date,Start,End,Carer\n{ref},2026-11-16,09:00,10:30,Sam\nCL-NOBODY,2026-11-16,09:00,10:00,Sam\n"
    page.get_by_label("Upload a file of visits").set_input_files(
        files=[{"name": "visits.csv", "mimeType": "text/csv", "buffer": visits.encode()}]
    )
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the visits")
    expect(page.get_by_text("CL-NOBODY is not one of your clients with a line this week")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Set delivered on 1 line").click()
    expect(page.get_by_text("Visits applied: delivered hours set on 1 line.")).to_be_visible()
    line.refresh_from_db()
    assert line.delivered == 1.5
