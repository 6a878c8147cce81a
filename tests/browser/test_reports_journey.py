"""Reports in a browser (issue 9): the finance officer's dashboard, a report filtered and downloaded as
Excel, a large file made in the background with its progress page, and the provider's panel and reports,
one downloaded as a PDF. axe on every new page (and on a report's error state).

The small council of tests/reports/conftest.py, with the clock started (not stopped) on its Wednesday, so
the signed-in session and the six-digit code follow it as usual.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from reports import services
from reports.models import ReportRequest
from tests.browser.conftest import AXE_SOURCE, assert_accessible, sign_in
from tests.reports.conftest import NOW, W1, W3, SmallCouncil, small  # noqa: F401 (the fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def now() -> Iterator[dt.datetime]:
    """The small council's Wednesday, the clock running (a browser session needs time to pass)."""
    with time_machine.travel(NOW, tick=True):
        yield NOW


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path / "var"


def assert_accessible_but_the_refresh_asked_for(page: Page) -> None:
    """axe as `assert_accessible`, less its rule against a timed refresh: on the report file page the user
    turns the reload on (and can turn it off), which WCAG 2.2.1 allows ("Turn off"); axe cannot tell."""
    page.evaluate(AXE_SOURCE)
    result = page.evaluate(
        """async () => await axe.run(document, {
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']},
            rules: {'meta-refresh': {enabled: false}},
            resultTypes: ['violations'],
        })"""
    )
    assert not result["violations"], [v["id"] for v in result["violations"]]


def test_a_finance_officer_opens_the_dashboard_filters_a_report_and_downloads_it(
    page: Page,
    live_server,
    small: SmallCouncil,  # noqa: F811 (the fixture imported above)
    csp_violations: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sign_in(page, live_server.url, small.council.users["finance"])
    expect(page.get_by_test_id("finance-dashboard")).to_be_visible()
    expect(page.get_by_test_id("review-queue-count")).to_have_text("1")
    expect(page.get_by_test_id("compliance-chart")).to_be_visible()
    expect(
        page.get_by_test_id("ageing-panel").get_by_role("row", name=re.compile("Overdue"))
    ).to_contain_text("2")
    assert_accessible(page)

    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reports")
    assert_accessible(page)

    page.get_by_role("link", name="Variance of actual against plan").click()
    assert_accessible(page)
    filters = page.get_by_test_id("report-filters")
    filters.get_by_label("From", exact=True).select_option(W1.isoformat())
    filters.get_by_label("To", exact=True).select_option(W3.isoformat())
    filters.get_by_label("Provider").select_option(small.b.ref)
    page.get_by_role("button", name="Show report").click()
    rows = page.get_by_test_id("by_provider-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("£410.63")
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("button", name="Download as Excel").click()
    assert download.value.suggested_filename.startswith("variance-")
    workbook = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    sheet = workbook["By provider and service type"]
    assert any(row[0].value == "Brookside Support Services" for row in sheet.iter_rows())

    filters.get_by_label("To", exact=True).select_option(dt.date(2026, 10, 26).isoformat())
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)

    for name in (
        "Submission compliance",
        "Exceptions by rule and outcome",
        "4-weekly charging readiness",
        "Dispute and query ageing",
        "Payments by period",
    ):
        page.goto(f"{live_server.url}/council/reports/")
        page.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        assert_accessible(page)

    # A large file is made in the background: the page shows its progress, then offers it.
    queued: list[str] = []
    from reports.tasks import report_make_task

    monkeypatch.setattr(report_make_task, "delay", queued.append)
    monkeypatch.setitem(services.INLINE_MAX_ROWS, ReportRequest.Format.PDF, 0)
    page.get_by_role("button", name="Download as PDF").click()
    expect(page.get_by_test_id("report-file-status")).to_have_attribute("data-state", "queued")
    assert_accessible(page)
    page.get_by_test_id("auto-on").click()
    expect(page.get_by_test_id("auto-off")).to_be_visible()
    assert_accessible_but_the_refresh_asked_for(page)
    assert services.report_make(request_id=queued[0]) == "ready"
    expect(page.get_by_test_id("report-file-status")).to_have_attribute("data-state", "ready", timeout=15_000)
    assert_accessible(page)
    with page.expect_download() as pdf:
        page.get_by_test_id("report-file-download").click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    page.goto(f"{live_server.url}/council/reports/")
    expect(page.get_by_test_id("report-files")).to_contain_text("Payments by period (PDF)")
    assert_accessible(page)
    assert not csp_violations


def test_a_provider_sees_its_panel_and_reports(
    page: Page,
    live_server,
    small: SmallCouncil,  # noqa: F811 (the fixture imported above)
    csp_violations: list[str],
) -> None:
    sign_in(page, live_server.url, small.council.users["provider_a"])
    panel = page.get_by_test_id("paid-panel")
    expect(panel.get_by_role("row", name=re.compile("October 2026"))).to_contain_text("£316.50")
    expect(page.get_by_test_id("deadline")).to_be_visible()  # the week due's checklist is still there
    assert_accessible(page)

    page.get_by_role("link", name="Reports", exact=True).first.click()
    assert_accessible(page)
    for name in (
        "Actuals against plan",
        "Weeks outstanding",
        "Payments and remittances",
        "Disputes and queries",
    ):
        page.goto(f"{live_server.url}/reports/")
        page.get_by_role("link", name=name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(name)
        assert_accessible(page)
    page.get_by_test_id("report-filters").get_by_label("Kind").select_option("query")
    page.get_by_role("button", name="Show report").click()
    expect(page.get_by_test_id("open_threads-row")).to_have_count(2)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as PDF").click()
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")
    assert not csp_violations
