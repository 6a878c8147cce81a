"""The reports' pages, downloads and background files: figures on screen, filters, Excel text that is never
a formula, a PDF, a large file made by the worker (idempotently), who may download it (404 for anyone
else), expiry, and the home pages' dashboards."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from portal.accounts.models import User
from reports import services
from reports.models import ReportRequest
from tests.conftest import client_for
from tests.reports.conftest import W1, W3, SmallCouncil

pytestmark = pytest.mark.django_db

COUNCIL_PAGES = [
    "council_report_compliance",
    "council_report_exceptions",
    "council_report_variance",
    "council_report_charging",
    "council_report_ageing",
    "council_report_payments",
]
PROVIDER_PAGES = ["report_actuals", "report_weeks", "report_payments", "report_threads"]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(client: Client, name: str, query: str = "") -> str:
    response = client.get(f"{reverse(name)}{query}")
    assert response.status_code == 200, name
    page = response.content.decode()
    assert "!!MISSING" not in page, name
    return page


def _cells(page: str, testid: str) -> list[list[str]]:
    rows = re.findall(rf'<tr class="govuk-table__row" data-testid="{testid}-row">(.*?)</tr>', page, re.S)
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in rows
    ]


def test_every_council_report_opens_with_its_defaults(finance_client: Client, small: SmallCouncil) -> None:
    for name in COUNCIL_PAGES:
        page = _page(finance_client, name)
        assert "Download as Excel" in page and "How these figures are made" in page, name


def test_every_provider_report_opens_with_its_defaults(
    provider_a_client: Client, small: SmallCouncil
) -> None:
    for name in PROVIDER_PAGES:
        _page(provider_a_client, name)
    index = _page(provider_a_client, "reports")
    assert "Actuals against plan" in index and "Submission compliance" not in index


def test_the_council_index_offers_what_the_role_may_run(
    finance_client: Client, portal_admin_client: Client, small: SmallCouncil
) -> None:
    assert "Payments by period" in _page(finance_client, "council_reports")
    index = _page(portal_admin_client, "council_reports")
    assert "Submission compliance" in index and "Payments by period" not in index


def test_the_variance_page_shows_the_hand_computed_figures(
    finance_client: Client, small: SmallCouncil
) -> None:
    page = _page(finance_client, "council_report_variance", f"?from_week={W1}&to_week={W3}&lines=confirmed")
    assert _cells(page, "by_service_type") == [
        ["Day care", "sessions", "2", "6", "5", "-1", "£273.00", "£227.50", "-£45.50", "£273.00"],
        ["Home support", "hours", "5", "41", "35.75", "-5.25", "£872.50", "£760.63", "-£111.87", "£825.63"],
    ]
    totals = re.search(r'data-testid="by_service_type-totals">(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]
    assert "£1,145.50" in totals and "-£157.37" in totals


def test_a_filter_narrows_the_report_and_a_bad_one_is_an_error(
    finance_client: Client, small: SmallCouncil
) -> None:
    page = _page(
        finance_client, "council_report_compliance", f"?from_week={W1}&to_week={W1}&provider={small.d.ref}"
    )
    assert _cells(page, "by_provider") == [["Dales Home Care", small.d.ref, "1", "0", "0", "1", "0", "0%"]]
    page = _page(finance_client, "council_report_compliance", f"?from_week={W3}&to_week={W1}")
    assert "There is a problem" in page and "<title>Error: " in page
    assert "The last week must be the same as or after the first week" in page
    assert 'data-testid="report-download"' not in page
    page = _page(finance_client, "council_report_compliance", "?provider=NOPE")
    assert "Choose a provider from the list" in page


def test_a_provider_sees_only_its_own_figures(provider_a_client: Client, small: SmallCouncil) -> None:
    page = _page(provider_a_client, "report_actuals", f"?from_week={W1}&to_week={W3}&group=person")
    assert "Alice Ashworth" in page and "Arthur Appleby" in page and "Bernard Booth" not in page
    page = _page(provider_a_client, "report_threads")
    assert small.threads["t2"].ref in page and small.threads["t1"].ref not in page


def _download(client: Client, name: str, query: str, fmt: str):
    return client.post(f"{reverse(name)}{query}", {"format": fmt})


def test_a_small_report_downloads_as_excel_with_text_never_a_formula(
    finance_client: Client, small: SmallCouncil
) -> None:
    response = _download(finance_client, "council_report_ageing_download", "", "xlsx")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith(
        'attachment; filename="dispute-and-query-ageing-2026-11-25.xlsx"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["By team", "By type", "Open disputes and queries", "About these figures"]
    sheet = workbook["Open disputes and queries"]
    found = [
        cell
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert len(found) == 1
    cell = found[0]
    assert cell.data_type == "s" and cell.quotePrefix and cell.value.startswith("=HYPERLINK")
    assert all(c.data_type != "f" for row in workbook["By team"].iter_rows() for c in row)
    rows = [[c.value for c in r] for r in workbook["By team"].iter_rows()]
    assert rows[0][0] == "Dispute and query ageing: By team" and rows[1][:2] == ["Team", "All teams"]
    assert rows[6][:3] == ["Team", "Open", "0 to 2 days"]  # after the title, the four filters, a blank
    payments = workbook["By team"]
    assert any(row[0].value == "Payments" and row[1].value == 2 for row in payments.iter_rows())


def test_money_and_shares_stay_numbers_in_excel(finance_client: Client, small: SmallCouncil) -> None:
    response = _download(
        finance_client,
        "council_report_variance_download",
        f"?from_week={W1}&to_week={W3}&lines=confirmed",
        "xlsx",
    )
    sheet = load_workbook(io.BytesIO(response.content))["By service type"]
    row = next(r for r in sheet.iter_rows() if r[0].value == "Home support")
    assert [c.value for c in row[6:10]] == [872.5, 760.63, -111.87, 825.63]
    assert row[6].number_format == "#,##0.00"


def test_a_small_report_downloads_as_pdf(provider_a_client: Client, small: SmallCouncil) -> None:
    response = _download(provider_a_client, "report_weeks_download", "", "pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_downloading_is_a_post_and_a_bad_format_goes_back_to_the_page(
    finance_client: Client, small: SmallCouncil
) -> None:
    url = reverse("council_report_variance_download")
    assert finance_client.get(url).status_code == 405
    response = finance_client.post(f"{url}?lines=all", {"format": "csv"})
    assert (
        response.status_code == 302
        and response["Location"] == f"{reverse('council_report_variance')}?lines=all"
    )


def _large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(services.INLINE_MAX_ROWS, ReportRequest.Format.XLSX, 0)
    monkeypatch.setitem(services.INLINE_MAX_ROWS, ReportRequest.Format.PDF, 0)


def _ask(client: Client, name: str, query: str, fmt: str, captured: Callable) -> ReportRequest:
    with captured(execute=True):
        response = _download(client, name, query, fmt)
    assert response.status_code == 302, response.content[:500]
    pk = response["Location"].rstrip("/").split("/")[-1]
    return ReportRequest.objects.get(pk=pk)


def test_a_large_council_report_is_made_by_the_worker_for_its_requester_only(
    finance_client: Client, portal_admin_client: Client, provider_a_client: Client, small: SmallCouncil,
    queued: list[str], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    _large(monkeypatch)
    request = _ask(
        finance_client,
        "council_report_ageing_download",
        "?kind=query",
        "xlsx",
        django_capture_on_commit_callbacks,
    )
    assert queued == [str(request.pk)]
    assert (request.state, request.owner, request.filters) == (
        "queued", f"user:{small.council.users['finance'].pk}", {"team": "", "kind": "query", "provider": ""},
    )  # fmt: skip
    status_url = reverse("council_report_file", kwargs={"pk": request.pk})
    page = finance_client.get(status_url).content.decode()
    assert "Waiting to start" in page and 'http-equiv="refresh"' not in page
    assert 'http-equiv="refresh"' in finance_client.get(f"{status_url}?auto=1").content.decode()

    again = _ask(
        finance_client,
        "council_report_ageing_download",
        "?kind=query",
        "xlsx",
        django_capture_on_commit_callbacks,
    )
    assert again.pk == request.pk and queued == [str(request.pk)]  # one live file, one run

    assert services.report_make(request_id=queued[0]) == "ready"
    assert services.report_make(request_id=queued[0]) == "ready"  # a second run of the task: nothing
    request.refresh_from_db()
    assert (request.state, request.progress, request.rows) == ("ready", 100, 9)  # 3 teams, 3 types, 3 threads
    page = finance_client.get(f"{status_url}?auto=1").content.decode()
    assert "Download dispute-and-query-ageing-2026-11-25.xlsx" in page and 'http-equiv="refresh"' not in page

    download_url = reverse("council_report_file_download", kwargs={"pk": request.pk})
    response = finance_client.get(download_url)
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [row[0].value for row in workbook["By team"].iter_rows()][-4:] == [
        "Brokerage",
        "Payments",
        "Portal support",
        "All teams",
    ]

    # another finance officer, a portal administrator, a provider: not theirs
    other = User.objects.create(
        email="other.finance@example.org", council_role=User.CouncilRole.FINANCE_OFFICER
    )
    for client in (client_for(other), portal_admin_client):
        assert client.get(status_url).status_code == 404
        assert client.get(download_url).status_code == 404
    assert provider_a_client.get(download_url).status_code == 403
    assert "Dispute and query ageing" in _page(finance_client, "council_reports")


def test_a_large_provider_report_is_for_every_user_of_that_provider_only(
    provider_a_client: Client, provider_a_admin_client: Client, provider_b_client: Client, manager_client: Client,
    small: SmallCouncil, queued: list[str], monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    _large(monkeypatch)
    request = _ask(
        provider_a_client,
        "report_actuals_download",
        f"?from_week={W1}&to_week={W3}",
        "pdf",
        django_capture_on_commit_callbacks,
    )
    assert request.provider == small.a and request.owner == f"provider:{small.a.pk}"
    assert services.report_make(request_id=str(request.pk)) == "ready"
    download_url = reverse("report_file_download", kwargs={"pk": request.pk})
    response = provider_a_admin_client.get(download_url)  # a colleague at the same provider
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert provider_b_client.get(download_url).status_code == 404
    assert provider_b_client.get(reverse("report_file", kwargs={"pk": request.pk})).status_code == 404
    manager_client.post(reverse("provider_switch"), {"provider": small.b.pk})
    assert manager_client.get(download_url).status_code == 404  # acting for B now
    manager_client.post(reverse("provider_switch"), {"provider": small.a.pk})
    assert manager_client.get(download_url).status_code == 200


def test_a_file_expires_and_its_file_is_removed(
    finance_client: Client, small: SmallCouncil, queued: list[str], monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    _large(monkeypatch)
    request = _ask(
        finance_client, "council_report_payments_download", "", "xlsx", django_capture_on_commit_callbacks
    )
    services.report_make(request_id=str(request.pk))
    request.refresh_from_db()
    path = services.request_path(request)
    assert path.is_file()
    assert request.expires_at == request.finished_at + dt.timedelta(hours=24)
    with time_machine.travel(request.expires_at + dt.timedelta(minutes=1), tick=False):
        assert services.reports_sweep().expired == 1
    request.refresh_from_db()
    assert request.state == "expired" and not path.exists()
    assert (
        finance_client.get(reverse("council_report_file_download", kwargs={"pk": request.pk})).status_code
        == 404
    )
    assert (
        "has been removed"
        in finance_client.get(reverse("council_report_file", kwargs={"pk": request.pk})).content.decode()
    )
    again = _ask(
        finance_client, "council_report_payments_download", "", "xlsx", django_capture_on_commit_callbacks
    )
    assert again.pk != request.pk and again.state == "queued"


def test_the_sweep_requeues_a_lost_request_and_the_worker_refuses_a_requester_without_the_permission(
    finance_client: Client, small: SmallCouncil, queued: list[str], monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    _large(monkeypatch)
    request = _ask(
        finance_client, "council_report_payments_download", "", "xlsx", django_capture_on_commit_callbacks
    )
    queued.clear()
    with time_machine.travel(request.created_at + dt.timedelta(minutes=3), tick=False):
        assert services.reports_sweep().requeued == 1
    assert queued == [str(request.pk)]
    finance = small.council.users["finance"]
    User.objects.filter(pk=finance.pk).update(
        council_role=User.CouncilRole.PORTAL_ADMINISTRATOR
    )  # no payments
    assert services.report_make(request_id=queued[0]) == "failed"
    request.refresh_from_db()
    assert request.state == "failed" and "may no longer run this report" in request.error


def test_the_finance_home_page_is_the_dashboard(finance_client: Client, small: SmallCouncil) -> None:
    page = _page(finance_client, "home")
    assert 'data-testid="finance-dashboard"' in page
    assert re.search(r'data-testid="review-queue-count">1<', page)
    compliance = re.search(r'data-testid="compliance-panel".*?</section>', page, re.S).group(0)  # type: ignore[union-attr]
    assert "week of 16 nov 2026" in compliance  # last week, due yesterday at 17:00
    # on time, late, missing, not due yet, expected
    assert re.findall(r'data-testid="compliance-panel-value">([^<]*)<', page) == ["0", "1", "2", "0", "3"]
    assert '<svg class="report-chart" data-testid="compliance-chart"' in page and 'aria-hidden="true"' in page
    assert re.findall(r'data-testid="ageing-panel-value">([^<]*)<', page) == ["2", "1", "1", "4"]
    assert "Of the providers due, 0% confirmed on time." in page


def test_the_portal_administrators_home_has_no_review_queue(
    portal_admin_client: Client, small: SmallCouncil
) -> None:
    page = _page(portal_admin_client, "home")
    assert 'data-testid="compliance-panel"' in page and 'data-testid="review-queue"' not in page


def test_the_provider_home_page_keeps_its_checklist_and_adds_the_paid_panel(
    provider_a_client: Client, small: SmallCouncil
) -> None:
    page = _page(provider_a_client, "home")
    assert "Generate actuals" in page or "lines generated" in page  # the week due's checklist, as before
    assert re.findall(r'data-testid="paid-panel-value">([^<]*)<', page) == [
        "£0.00", "£0.00", "£0.00", "£0.00", "£316.50", "£25.00",
    ]  # fmt: skip
    assert "Reports" in page
