"""What the review of the reports found, each with the small council (tests/reports/conftest.py) moved to
the edge that showed it: a line not payable, a provider's payment dispute on a reviewed line, a charging
period the portal started in the middle of, supplementary lines in a confirmed week, a file whose runs
all died, a file past its time before the sweep, text in a number column of a workbook, a requester who
left the provider."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from actuals.models import ActualLine
from disputes.models import Team, Thread
from portal import clock
from portal.accounts.models import Membership
from portal.documents import MAX_ATTEMPTS, SILENT_AFTER
from portal.providers.models import CarePackageLine
from reports import periods, selectors, services
from reports.excel import report_workbook
from reports.models import ReportRequest
from reports.tables import Column, Report, Table
from tests.factories import CarePackageLineFactory
from tests.reports.conftest import W1, W2, W3, W4, SmallCouncil, _line, at
from tests.reports.test_pages import _ask, _download, _large

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status


def _finance(small: SmallCouncil):
    return small.council.users["finance"]


# Figures ------------------------------------------------------------------------------------------


def test_a_line_not_payable_pays_nothing_in_the_variance_and_actuals_against_plan(
    small: SmallCouncil,
) -> None:
    """Alice's week 2 line (held, £190.00) disputed and upheld before it was sent: not payable. It keeps its
    amount, but pays nothing: paid £ was £370.00 with it, £180.00 is right."""
    ActualLine.objects.filter(pk=small.lines["alice_w2"].pk).update(status=Status.NOT_PAYABLE)
    report = selectors.variance_report(user=_finance(small), first=W1, last=W3)
    home = [
        r
        for r in report.table("by_provider").rows
        if r[0] == "Airedale Home Care Ltd" and r[2] == "Home support"
    ]
    # planned £, delivered £, variance £ as they were (the quantities are what was recorded); paid £
    assert home[0][8:] == [D("400.00"), D("350.00"), D("-50.00"), D("180.00")]
    provider_view = selectors.actuals_against_plan_report(
        provider=small.a, first=W2, last=W2, group="service_type", include_drafts=False
    )
    assert [r[0] for r in provider_view.table("by_group").rows] == ["Day care", "Home support"]
    assert provider_view.table("by_group").rows[1][-1] == D("0.00")


def test_a_providers_payment_dispute_does_not_change_what_the_review_decided(small: SmallCouncil) -> None:
    """Alice's week 1 line was approved in review (ACT-13) and then paid; the provider disputes the payment.
    The exception's outcome stays "approved" (it counted as "disputed, open" before)."""
    alice_w1 = small.lines["alice_w1"]
    ActualLine.objects.filter(pk=alice_w1.pk).update(status=Status.PAID)
    payment = Thread.objects.create(
        provider=small.a, kind=Thread.Kind.DISPUTE, subject="Payment dispute: Alice, week of 2 Nov",
        team=Team.objects.get_or_create(code="payments", defaults={"name": "Payments"})[0],
        due_on=dt.date(2026, 11, 30), raised_by=small.council.users["provider_a"],
        raised_at=at(dt.date(2026, 11, 24)), raised_by_council=False, last_message_at=at(dt.date(2026, 11, 24)),
        state=Thread.State.AWAITING_COUNCIL, claimed_amount=D("20.00"),
    )  # fmt: skip
    payment.lines.set([alice_w1])
    report = selectors.exceptions_report(user=_finance(small), first=W1, last=W1)
    by_rule = {row[0]: row for row in report.table("by_rule").rows}
    # exceptions, then: not confirmed, waiting, approved, disputed open, upheld, adjusted, withdrawn, sent
    assert by_rule["ACT-13"][3:] == [2, 0, 0, 1, 0, 0, 1, 0, 0]


def test_weeks_before_the_portals_first_week_do_not_hold_up_charging(small: SmallCouncil, settings) -> None:
    """The portal started on 2 November, in the middle of period 8 (19 October to 15 November). Dora's care
    began before it: her weeks of 19 and 26 October were claimed the old way and can never be confirmed in
    the portal, so they are not provider weeks still to confirm."""
    settings.ACTUALS_FROM = W1
    CarePackageLine.objects.filter(provider=small.d).update(start_date=dt.date(2026, 10, 19))
    p8 = periods.charging_period_of(W1)
    report = selectors.charging_report(user=_finance(small), first=p8, last=p8)
    assert report.table("by_period").rows[0][9] == 2  # Dora's 2 and 9 November only
    assert [r[0:1] + r[-1:] for r in report.table("by_provider").rows if r[0] == "Dales Home Care"] == [
        ["Dales Home Care", 2]
    ]


def test_a_confirmed_week_with_supplementary_lines_is_still_outstanding(small: SmallCouncil) -> None:
    """A care package line published after B confirmed week 1 (backdated) is a draft to confirm: the week is
    listed, with the one line still to confirm."""
    late_line = CarePackageLineFactory(
        provider=small.b, service_type=small.bernard.service_type, planned_per_week=D("2"), rate=D("22.50"),
        start_date=W1,
    )  # fmt: skip
    week = small.b.weeks.get(week_start=W1)
    _line(week, late_line, delivered="2", status=Status.DRAFT, amount="45.00")
    report = selectors.weeks_outstanding_report(provider=small.b)
    # week, state, lines, still to confirm
    assert [[r[0], r[1], r[3], r[4]] for r in report.table("weeks").rows] == [
        [W4, "Not started", 0, 0],
        [W1, "Supplementary lines to confirm", 2, 1],
    ]


# Files made in the background -----------------------------------------------------------------------


def test_a_file_whose_every_run_died_is_shown_as_failed_and_can_be_asked_for_again(
    finance_client: Client, small: SmallCouncil, queued: list[str], monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    """Three runs, each killed: the sweep queued it again only while it had runs left, so it said "being
    made" until it expired, a day later. Now the sweep queues it once more and that claim fails it; the page
    says so and offers to try again, which asks for the same report with the same filters."""
    _large(monkeypatch)
    request = _ask(
        finance_client,
        "council_report_ageing_download",
        "?kind=query",
        "xlsx",
        django_capture_on_commit_callbacks,
    )
    ReportRequest.objects.filter(pk=request.pk).update(
        state="running",
        attempts=MAX_ATTEMPTS,
        heartbeat_at=clock.now() - SILENT_AFTER - dt.timedelta(minutes=1),
    )
    queued.clear()
    assert services.reports_sweep().requeued == 1 and queued == [str(request.pk)]
    assert services.report_make(request_id=queued[0]) == "failed"
    request.refresh_from_db()
    assert request.state == "failed" and "gave up" in request.error
    page = finance_client.get(reverse("council_report_file", kwargs={"pk": request.pk})).content.decode()
    assert "Could not be made" in page and "gave up" not in page
    retry = re.search(r'<form method="post" action="([^"]+)"[^>]*data-testid="report-file-retry"', page)
    assert retry is not None and 'name="format" value="xlsx"' in page
    url = retry.group(1).replace("&amp;", "&")
    assert url.startswith(reverse("council_report_ageing_download")) and "kind=query" in url
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(url, {"format": "xlsx"})
    again = ReportRequest.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert again.pk != request.pk and again.state == "queued" and again.filters == request.filters


def test_a_ready_file_past_its_time_is_removed_before_the_sweep_comes(
    provider_a_client: Client, small: SmallCouncil, queued: list[str], monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    """Its download is refused (as before); the pages said "Ready" with a link that answered 404."""
    _large(monkeypatch)
    request = _ask(provider_a_client, "report_weeks_download", "", "xlsx", django_capture_on_commit_callbacks)
    assert services.report_make(request_id=str(request.pk)) == "ready"
    ReportRequest.objects.filter(pk=request.pk).update(expires_at=clock.now() - dt.timedelta(minutes=1))
    page = provider_a_client.get(reverse("report_file", kwargs={"pk": request.pk})).content.decode()
    assert "has been removed" in page and "report-file-download" not in page and "Make it again" in page
    index = provider_a_client.get(reverse("reports")).content.decode()
    assert "govuk-tag--grey" in index and "Removed" in index and ">Ready<" not in index
    assert (
        provider_a_client.get(reverse("report_file_download", kwargs={"pk": request.pk})).status_code == 404
    )


def test_a_report_file_is_served_as_a_sandboxed_download(
    provider_a_client: Client, small: SmallCouncil, queued: list[str], monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    """As a remittance's documents are: a browser never renders it with the portal's origin."""
    inline = _download(provider_a_client, "report_weeks_download", "", "xlsx")
    _large(monkeypatch)
    request = _ask(provider_a_client, "report_weeks_download", "", "xlsx", django_capture_on_commit_callbacks)
    services.report_make(request_id=str(request.pk))
    made = provider_a_client.get(reverse("report_file_download", kwargs={"pk": request.pk}))
    for response in (inline, made):
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["X-Content-Type-Options"] == "nosniff" and response["Cache-Control"] == "no-store"


def test_a_provider_report_is_not_made_for_someone_who_no_longer_acts_for_the_provider(
    provider_a_client: Client, small: SmallCouncil, queued: list[str], monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:  # fmt: skip
    _large(monkeypatch)
    request = _ask(provider_a_client, "report_weeks_download", "", "xlsx", django_capture_on_commit_callbacks)
    Membership.objects.filter(user=small.council.users["provider_a"], provider=small.a).delete()
    assert services.report_make(request_id=str(request.pk)) == "failed"
    request.refresh_from_db()
    assert "may no longer run this provider's reports" in request.error
    assert not services.request_path(request).exists()


# Excel ----------------------------------------------------------------------------------------------


def test_text_in_a_number_column_of_a_workbook_is_never_a_formula() -> None:
    """A totals row or a value given in words in a number column went to openpyxl as it was: a string
    starting with "=" became a formula."""
    report = Report(
        "Report",
        [("Filter", "All")],
        [Table("t", "Table", [Column("Name"), Column("Count", "int"), Column("When", "date")],
               [["Row", "=1+1", "@SUM(A1)"]], totals=["Total", "=HYPERLINK(\"x\")", None])],
    )  # fmt: skip
    workbook = load_workbook(io.BytesIO(report_workbook(report)))
    cells = [cell for row in workbook["Table"].iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    texts = {cell.value: cell for cell in cells}
    assert (
        texts["=1+1"].quotePrefix and texts["@SUM(A1)"].quotePrefix and texts['=HYPERLINK("x")'].quotePrefix
    )


def test_the_file_page_follows_the_worker_in_place_and_its_retry_carries_the_csrf_token(
    small: SmallCouncil,
    queued: list[str],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks,
) -> None:
    """With JavaScript, htmx asks for the status panel (in an aria-live region) every two seconds while the
    file is made, as a remittance's document page does; the page reloaded only when asked to. The panel's
    "Try again" form is a real browser's: it carries the page's CSRF token."""
    from tests.conftest import client_for

    client = client_for(small.council.users["finance"])
    client.handler.enforce_csrf_checks = True
    _large(monkeypatch)
    page = client.get(reverse("council_report_ageing")).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("council_report_ageing_download"), {"format": "xlsx", "csrfmiddlewaretoken": token}
        )
    request = ReportRequest.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    status_url = reverse("council_report_file", kwargs={"pk": request.pk})
    page = client.get(status_url).content.decode()
    assert '<div aria-live="polite">' in page and f'hx-get="{status_url}"' in page
    panel = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert panel.lstrip().startswith('<div id="report-file-status"') and "<html" not in panel
    ReportRequest.objects.filter(pk=request.pk).update(state="failed", error="broken")
    panel = client.get(status_url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-get" not in panel and "Try again" in panel
    page = client.get(status_url).content.decode()
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*data-testid="report-file-retry">(.*?)</form>', page, re.S
    )
    assert form is not None
    token = form.group(2).split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            form.group(1).replace("&amp;", "&"), {"format": "xlsx", "csrfmiddlewaretoken": token}
        )
    again = ReportRequest.objects.exclude(pk=request.pk).get()
    assert response.status_code == 302 and response["Location"].rstrip("/").endswith(str(again.pk))
