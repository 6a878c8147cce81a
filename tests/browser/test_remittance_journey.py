"""A payment run's remittance end to end, with real parts only (issue 8, "Done when").

The same rig as the other journeys: the simulated back office as a process on a database of its own, a
Redis of the test's own, a real Celery worker on the test database, one clock for all of them. A provider's
week is confirmed and the worker sends its lines; the back office accepts them. A payment run in the
simulator (POST /sim/payment-runs) pays them and writes the remittance; the sync pull brings it into the
portal, and the worker emails the provider a link to it.

The provider finds it under Remittances, opens it (each line with its person and the actual line it pays,
linked; the totals), downloads it as Excel (no formula anywhere, the figures as numbers) and as a PDF made
in the request. Then, with the limit for PDFs made in the request lowered so that this remittance counts as
long, asks for its PDF and watches it being made by the worker: with the worker stopped the page shows it
waiting (and, without JavaScript, a "Check again" link); once the worker is back, the page (polling with
htmx) shows the download, and the downloaded PDF's text has the totals and as many pages as the portal
says. A finance officer sees the same remittance among every provider's. axe is clean on every page.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from actuals import services as actuals_services
from actuals.models import ActualLine
from contrOCC_sync.inbound import pull_all
from portal.accounts.models import User
from portal.formatting import money
from portal.providers.services import provider_portal_access_set
from remittances import documents
from remittances.models import DocumentRequest, Remittance
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.rig import WEEK, Rig
from tests.browser.test_actuals_week_journey import all_delivered, home_support_provider, watch_csp
from tests.conftest import email_body, read_mailbox
from tests.factories import MembershipFactory, UserFactory
from tests.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
D = Decimal


def test_a_payment_run_to_the_remittance_its_excel_and_its_pdf_made_by_the_worker(
    rig: Rig, page: Page, browser: Browser, live_server, csp_violations: list[str], tmp_path: Path, settings
) -> None:
    settings.VAR_DIR = tmp_path / "var"  # where the worker (tests/workers.py) keeps its files too
    try:
        _journey(rig, page, browser, live_server.url, csp_violations, tmp_path)
    except BaseException:
        print(rig.logs())
        raise


def flat(text: str) -> str:
    return " ".join(text.split())


def _paid_week(rig: Rig, provider: Any, carer: User) -> list[ActualLine]:
    """The provider's week generated and confirmed as planned; the worker sends it, the back office
    accepts every line, and the portal hears so."""
    actuals_services.actuals_generate(provider=provider, week_start=WEEK, by=carer)
    actuals_services.week_confirm(provider=provider, week_start=WEEK, by=carer, declaration=True)
    rig.worker.wait_ready()
    wait_until(all_delivered, seconds=60, what="the worker to deliver the week's lines", every=0.25)

    def accepted() -> bool:
        pull_all()
        statuses = set(ActualLine.objects.for_provider(provider).values_list("status", flat=True))
        return statuses == {ActualLine.Status.ACCEPTED}

    wait_until(accepted, seconds=60, what="the back office to accept the lines", every=0.5)
    return list(ActualLine.objects.for_provider(provider).order_by("pk"))


def _journey(rig: Rig, page: Page, browser: Browser, base: str, csp: list[str], tmp_path: Path) -> None:
    provider = home_support_provider()
    admin = UserFactory(council_role=User.CouncilRole.PORTAL_ADMINISTRATOR)
    provider_portal_access_set(provider=provider, enabled=True, by=admin)
    carer = MembershipFactory(provider=provider, user__email="payments@example.org").user
    finance = UserFactory(email="finance@example.org", council_role=User.CouncilRole.FINANCE_OFFICER)
    lines = _paid_week(rig, provider, carer)
    expected_total = sum((line.amount for line in lines), D("0"))

    # 1. The payment run in the back office; the pull brings the remittance; the worker emails it ----------
    rig.backoffice.sim("POST", "payment-runs", {"cutoff": "now"})
    wait_until(
        lambda: pull_all() and Remittance.objects.for_provider(provider).exists(),
        seconds=60,
        what="the remittance to come back by the sync pull",
        every=0.5,
    )
    remittance = Remittance.objects.for_provider(provider).get()
    assert remittance.total == expected_total
    assert remittance.lines.count() == len(lines)

    def remittance_emails() -> list[Any]:
        return [
            m
            for m in read_mailbox(rig.mail)
            if " ".join(m["Subject"].split()).startswith("Remittance advice")
        ]

    wait_until(remittance_emails, seconds=30, what="the worker to email the remittance", every=0.25)
    [email] = remittance_emails()
    assert carer.email in email["To"] and provider.email in email["To"]
    assert f"/payments/remittances/{remittance.ref}/" in email_body(email)

    # 2. The provider finds it and opens it ------------------------------------------------------------------
    sign_in(page, base, carer)
    page.get_by_role("link", name="Remittances", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remittance advice")
    rows = page.get_by_test_id("remittance-row")
    expect(rows).to_have_count(1)
    expect(rows.get_by_test_id("remittance-total")).to_have_text(money(expected_total))
    assert_accessible(page)

    rows.get_by_role("link", name=remittance.ref).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(money(expected_total))
    expect(page.get_by_test_id("remittance-line")).to_have_count(len(lines))
    expect(page.get_by_test_id("total-total")).to_have_text(money(expected_total))
    first = lines[0]
    person = first.care_package_line.service_user
    first_row = page.get_by_test_id("remittance-line").filter(has_text=person.name).first
    expect(first_row.get_by_test_id("line-amount")).to_have_text(money(first.amount))
    assert_accessible(page)
    detail_url = page.url

    # 3. Excel ---------------------------------------------------------------------------------------------------
    with page.expect_download() as excel:
        page.get_by_test_id("excel-download").click()
    workbook = load_workbook(io.BytesIO(Path(excel.value.path()).read_bytes()))
    cells = [cell for row in workbook.active.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    values = [[cell.value for cell in row] for row in workbook.active.iter_rows()]
    assert ["Total paid", float(expected_total)] in [row[8:10] for row in values if len(row) >= 10]
    assert excel.value.suggested_filename == f"remittance-{remittance.ref}.xlsx"

    # 4. The PDF, made in the request --------------------------------------------------------------------------
    with page.expect_download() as pdf:
        page.get_by_test_id("pdf-download").click()
    reader = PdfReader(io.BytesIO(Path(pdf.value.path()).read_bytes()))
    text = flat(" ".join(p.extract_text() for p in reader.pages))
    assert provider.name in text and f"Total paid {money(expected_total)}" in text
    assert f"Page {len(reader.pages)} of {len(reader.pages)}" in text

    # 5. The PDF of a long remittance, made by the worker --------------------------------------------------------
    documents.INLINE_PDF_MAX_LINES, limit = 1, documents.INLINE_PDF_MAX_LINES
    try:
        _worker_pdf(rig, page, browser, base, csp, detail_url, remittance, expected_total)
    finally:
        documents.INLINE_PDF_MAX_LINES = limit

    # 6. The annual statements page, and the council's view of every provider's remittances --------------------
    page.goto(f"{base}/payments/statements/")
    expect(page.get_by_test_id("statement-year")).to_have_count(1)
    assert_accessible(page)

    staff_context = browser.new_context()
    watch_csp(staff_context, csp)
    staff = staff_context.new_page()
    sign_in(staff, base, finance)
    staff.get_by_role("link", name="Remittances", exact=True).click()
    expect(staff.get_by_test_id("remittance-row").filter(has_text=provider.name)).to_have_count(1)
    assert_accessible(staff)
    staff.get_by_role("link", name=remittance.ref).click()
    expect(staff.get_by_test_id("remittance-line")).to_have_count(len(lines))
    assert_accessible(staff)
    staff_context.close()

    assert not csp, csp


def _worker_pdf(
    rig: Rig,
    page: Page,
    browser: Browser,
    base: str,
    csp: list[str],
    detail_url: str,
    remittance: Remittance,
    total: Decimal,
) -> None:
    rig.worker.stop()  # so that the page is seen waiting; the request stays in Redis for the next worker
    page.goto(detail_url)
    expect(page.get_by_test_id("pdf-download")).to_have_count(0)
    page.get_by_role("button", name="Prepare the PDF").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Remittance advice (PDF): remittance {remittance.ref}"
    )
    status = page.get_by_test_id("document-status")
    expect(status).to_have_attribute("data-state", "queued")
    expect(page.get_by_test_id("document-progress")).to_contain_text("0% done: Waiting for a worker")
    assert_accessible(page)
    document = DocumentRequest.objects.get(remittance=remittance)

    # without JavaScript: the same page, with a link to check again
    plain_context = browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state())
    watch_csp(plain_context, csp)
    plain = plain_context.new_page()
    plain.goto(f"{base}/payments/documents/{document.pk}/")
    expect(plain.get_by_test_id("check-again")).to_be_visible()

    rig.worker.stopped = False
    rig.worker.start()
    rig.worker.wait_ready()
    # with JavaScript the page polls (htmx) and shows the download when the worker has made the file
    download_link = page.get_by_test_id("document-download")
    expect(download_link).to_be_visible(timeout=90_000)
    assert_accessible(page)
    document.refresh_from_db()
    assert document.state == DocumentRequest.State.READY and document.attempts == 1

    plain.get_by_test_id("check-again").click()
    expect(plain.get_by_test_id("document-download")).to_be_visible()
    plain_context.close()

    with page.expect_download() as pdf:
        download_link.click()
    assert pdf.value.suggested_filename == f"remittance-{remittance.ref}.pdf"
    reader = PdfReader(io.BytesIO(Path(pdf.value.path()).read_bytes()))
    assert len(reader.pages) == document.pages
    text = flat(" ".join(p.extract_text() for p in reader.pages))
    assert f"Total paid {money(total)}" in text
    assert re.search(rf"Page {document.pages} of {document.pages}", text)
    # the remittance's page now says the PDF is ready
    page.goto(detail_url)
    expect(page.get_by_test_id("pdf-document")).to_contain_text("The PDF is ready")
