"""The council's pages for its own disputes: a provider's weeks (from the provider's page) and a week's
lines with the dispute on the lines ticked or the whole week; a dispute on an invoice from its page; and a
reported death confirmed or cleared from the query's page. Errors keep what was typed and ticked; a
provider's login is told none of these pages exist (404)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from actuals.models import ActualLine
from disputes import services
from disputes.models import PaymentAdjustment, Thread
from portal.providers.models import ServiceUser
from remittances.models_invoices import Invoice, SubmissionStatus
from tests.actuals.conftest import WEEK, actual_of, generate
from tests.conftest import Council, client_for

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status


def week_url(council: Council, week_start: dt.date = WEEK) -> str:
    return reverse("council_provider_week", kwargs={"ref": council.provider_a.ref, "week": week_start})


def test_the_providers_page_links_finance_officers_to_its_weeks(council: Council, confirmed) -> None:
    provider_page = reverse("council_provider", args=[council.provider_a.ref])
    weeks = reverse("council_provider_weeks", kwargs={"ref": council.provider_a.ref})
    assert f'href="{weeks}"' in client_for(council.users["finance"]).get(provider_page).content.decode()
    assert (
        f'href="{weeks}"' not in client_for(council.users["portal_admin"]).get(provider_page).content.decode()
    )
    page = client_for(council.users["finance"]).get(weeks).content.decode()
    [row] = re.findall(r'<tr class="govuk-table__row" data-testid="provider-week">(.*?)</tr>', page, re.S)
    assert f'href="{week_url(council)}"' in row and "Confirmed" in row
    cells = re.findall(r"govuk-table__cell--numeric\">([^<]*)<", row)
    assert cells[:3] == ["2", "1", "0"]  # two lines, one held for review, none in dispute


def test_the_week_page_lists_each_lines_status_amount_exceptions_and_threads(
    council: Council, confirmed
) -> None:
    thread = services.dispute_raise_on_held_lines(
        user=council.users["finance"], versions={confirmed["held"].pk: 1}, reason="Letter?"
    )[0]
    page = client_for(council.users["finance"]).get(week_url(council)).content.decode()
    rows = dict(re.findall(r'id="line-(\d+)">(.*?)</tr>', page, re.S))
    sent, held = rows[str(confirmed["sent"].pk)], rows[str(confirmed["held"].pk)]
    assert "Alice Ashworth" in sent and "Sent" in sent and f"{confirmed['sent'].amount:,}" in sent
    assert f'value="{confirmed["sent"].pk}:1"' in sent
    assert "Disputed" in held and "ACT-13" in held and "Admitted on Tuesday" in held
    assert reverse("council_thread", kwargs={"pk": thread.pk}) in held
    assert 'name="lines"' not in held  # in a dispute already: not to be ticked again
    assert "The whole week: all 2 confirmed lines" in page
    assert re.search(r'name="fingerprint" value="[0-9a-f]{32}"', page)


def test_a_finance_officer_disputes_a_sent_line_from_the_week(
    council: Council, confirmed, mailbox, django_capture_on_commit_callbacks
) -> None:
    line = confirmed["sent"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(council.users["finance"]).post(
            week_url(council),
            {
                "about": "lines",
                "lines": [f"{line.pk}:1"],
                "reason": "<b>No</b> visit records",
                "fingerprint": "",
            },
        )
    thread = Thread.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "council_thread", kwargs={"pk": thread.pk}
    )
    assert list(thread.lines.all()) == [line] and actual_of(council.line_a).status == Status.SENT
    page = client_for(council.users["provider_a"]).get(reverse("thread", kwargs={"pk": thread.pk})).content
    assert b"&lt;b&gt;No&lt;/b&gt; visit records" in page
    assert any("a.user@example.org" in str(message["To"]) for message in mailbox())


def test_the_whole_week_is_disputed_from_the_page(council: Council, confirmed) -> None:
    client = client_for(council.users["finance"])
    page = client.get(week_url(council)).content.decode()
    fingerprint = re.search(r'name="fingerprint" value="([0-9a-f]+)"', page).group(1)
    client.post(
        week_url(council), {"about": "week", "reason": "Closed that week", "fingerprint": fingerprint}
    )
    thread = Thread.objects.get()
    assert set(thread.lines.values_list("pk", flat=True)) == {confirmed["sent"].pk, confirmed["held"].pk}


def test_a_refused_dispute_keeps_what_was_typed_and_ticked_and_changes_nothing(
    council: Council, confirmed
) -> None:
    client = client_for(council.users["finance"])
    line = confirmed["sent"]
    nothing = client.post(week_url(council), {"about": "lines", "reason": "Why?", "fingerprint": ""})
    page = nothing.content.decode()
    assert "<title>Error: " in page and "Select at least one line, or choose the whole week" in page
    ActualLine.objects.filter(pk=line.pk).update(version=2)  # corrected meanwhile
    stale = client.post(
        week_url(council), {"about": "lines", "lines": [f"{line.pk}:1"], "reason": "Why these hours?"}
    ).content.decode()
    assert "1 of the lines chosen was corrected by the provider since you opened the page" in stale
    assert "Why these hours?" in stale
    assert f'value="{line.pk}:2" checked' in stale  # ticked still, at the version shown now
    assert not Thread.objects.exists()


def test_a_week_not_confirmed_is_shown_without_the_dispute(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    page = client_for(council.users["finance"]).get(week_url(council)).content.decode()
    assert "has not confirmed this week yet" in page and 'name="lines"' not in page
    refused = client_for(council.users["finance"]).post(
        week_url(council), {"about": "week", "reason": "x", "fingerprint": "0" * 32}
    )
    assert "Only a confirmed week can be disputed" in refused.content.decode()


@pytest.mark.parametrize("actor", ["provider_a", "provider_b", "manager"])
def test_a_providers_login_is_told_the_week_page_does_not_exist(
    council: Council, confirmed, actor: str
) -> None:
    client = client_for(council.users[actor])
    assert client.get(week_url(council)).status_code == 404
    data = {"about": "week", "reason": "x", "fingerprint": "0" * 32}
    assert client.post(week_url(council), data).status_code == 404
    assert not Thread.objects.exists()
    assert client_for(council.users["portal_admin"]).get(week_url(council)).status_code == 403


def test_another_week_or_provider_is_not_there(council: Council, confirmed) -> None:
    client = client_for(council.users["finance"])
    assert client.get(week_url(council, WEEK - dt.timedelta(weeks=1))).status_code == 404
    assert client.get(reverse("council_provider_weeks", kwargs={"ref": "NOPE"})).status_code == 404


def test_the_thread_links_each_line_to_its_row_on_the_week_page(council: Council, confirmed) -> None:
    line = confirmed["sent"]
    client = client_for(council.users["finance"])
    client.post(week_url(council), {"about": "lines", "lines": [f"{line.pk}:1"], "reason": "x"})
    page = client.get(reverse("council_thread", kwargs={"pk": Thread.objects.get().pk})).content.decode()
    assert f'href="{week_url(council)}?q={line.care_package_line.ref}#line-{line.pk}"' in page


# Invoices -----------------------------------------------------------------------------------------


def test_an_invoice_is_disputed_from_its_page_and_the_thread_shows_where_it_belongs(
    council: Council, invoice: Invoice
) -> None:
    staff = client_for(council.users["finance"])
    dispute_url = reverse("council_invoice_dispute", kwargs={"pk": invoice.pk})
    council_page = reverse("council_invoice", kwargs={"pk": invoice.pk})
    assert f'href="{dispute_url}"' in staff.get(council_page).content.decode()
    empty = staff.post(dispute_url, {"reason": ""}).content.decode()
    assert "<title>Error: " in empty and "Enter the reason for the dispute" in empty
    response = staff.post(dispute_url, {"reason": "The child left the placement on 20 October"})
    thread = Thread.objects.get()
    assert response["Location"] == reverse("council_thread", kwargs={"pk": thread.pk})
    link = reverse("council_thread", kwargs={"pk": thread.pk})
    assert link in staff.get(council_page).content.decode()
    provider = client_for(council.users["provider_a"])
    own = reverse("thread", kwargs={"pk": thread.pk})
    assert own in provider.get(reverse("invoice", kwargs={"pk": invoice.pk})).content.decode()
    assert own in provider.get(reverse("child", kwargs={"ref": invoice.service_user.ref})).content.decode()
    thread_page = provider.get(own).content.decode()
    assert f'href="{reverse("invoice", kwargs={"pk": invoice.pk})}">Invoice A-17</a>' in thread_page


def test_an_invoice_dispute_is_resolved_with_the_agreed_amount(council: Council, invoice: Invoice) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(status=SubmissionStatus.ACCEPTED)
    staff = client_for(council.users["finance"])
    staff.post(reverse("council_invoice_dispute", kwargs={"pk": invoice.pk}), {"reason": "Ten days short"})
    thread = Thread.objects.get()
    page = staff.get(reverse("council_thread", kwargs={"pk": thread.pk})).content.decode()
    assert "Agreed amount for the invoice" in page
    outcome = reverse("council_thread_outcome", kwargs={"pk": thread.pk})
    missing = staff.post(outcome, {"outcome": "adjusted", "reason": "Agreed"}).content.decode()
    assert "Enter the agreed amount for the invoice" in missing
    staff.post(outcome, {"outcome": "adjusted", "reason": "Agreed", "amount": "677.42"})
    assert [a.amount for a in PaymentAdjustment.objects.all()] == [D("-322.58")]


@pytest.mark.parametrize("actor", ["provider_a", "provider_b"])
def test_a_providers_login_is_told_the_invoice_dispute_page_does_not_exist(
    council: Council, invoice: Invoice, actor: str
) -> None:
    url = reverse("council_invoice_dispute", kwargs={"pk": invoice.pk})
    assert client_for(council.users[actor]).post(url, {"reason": "x"}).status_code == 404
    assert not Thread.objects.exists()


# A reported death ---------------------------------------------------------------------------------


@pytest.fixture
def death(council: Council, week: dt.date) -> Thread:
    generate(council.provider_a)
    return services.query_raise_service_ended(
        provider=council.provider_a,
        by=council.users["provider_a"],
        person=council.line_a.service_user,
        report=services.EndReport(died=True, on=WEEK + dt.timedelta(days=2)),
        body="Her daughter rang",
    )


def test_the_death_is_confirmed_from_the_querys_page(council: Council, death: Thread) -> None:
    staff = client_for(council.users["finance"])
    url = reverse("council_thread", kwargs={"pk": death.pk})
    page = staff.get(url).content.decode()
    assert "Not confirmed yet: only" in page and "Confirm the death" in page and "Clear the report" in page
    decide = reverse("council_thread_death", kwargs={"pk": death.pk})
    missing = staff.post(decide, {"answer": "Thanks"}).content.decode()
    assert (
        "<title>Error: " in missing and "Select whether to confirm the death or clear the report" in missing
    )
    assert "Thanks" in missing
    response = staff.post(decide, {"decision": "confirm", "answer": "Brokerage will end the package."})
    assert response.status_code == 302
    person = ServiceUser.objects.get(pk=council.line_a.service_user_id)
    assert person.death_confirmed_at is not None
    page = staff.get(url).content.decode()
    assert "Confirmed " in page and 'action="' + decide not in page  # resolved: nothing left to decide


def test_the_report_is_cleared_from_the_querys_page(council: Council, death: Thread) -> None:
    client_for(council.users["finance"]).post(
        reverse("council_thread_death", kwargs={"pk": death.pk}),
        {"decision": "clear", "answer": "Reported in error."},
    )
    assert ServiceUser.objects.get(pk=council.line_a.service_user_id).death_reported_on is None
    assert "ACT-16" not in set(actual_of(council.line_a).exceptions.values_list("rule", flat=True))


def test_a_providers_login_is_told_the_death_decision_does_not_exist(council: Council, death: Thread) -> None:
    url = reverse("council_thread_death", kwargs={"pk": death.pk})
    assert (
        client_for(council.users["provider_a"]).post(url, {"decision": "clear", "answer": "x"}).status_code
        == 404
    )
    assert ServiceUser.objects.get(pk=council.line_a.service_user_id).death_reported_on is not None


def test_the_error_summary_links_to_the_first_box_shown(council: Council, confirmed) -> None:
    """Alice's line (first by name) is in a dispute already, so it has no box: Carol's box takes the
    field's id, which the error summary links to."""
    from disputes.services_council import dispute_raise_on_lines

    sent = confirmed["sent"]
    dispute_raise_on_lines(
        user=council.users["finance"], provider=council.provider_a, week_start=WEEK,
        versions={sent.pk: sent.version}, reason="x",
    )  # fmt: skip
    page = client_for(council.users["finance"]).post(week_url(council), {"about": "lines", "reason": "y"})
    html = page.content.decode()
    rows = dict(re.findall(r'id="line-(\d+)">(.*?)</tr>', html, re.S))
    assert 'name="lines"' not in rows[str(sent.pk)]
    assert 'id="id_lines"' in rows[str(confirmed["held"].pk)] and 'href="#id_lines"' in html
