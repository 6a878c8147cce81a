"""The council's own dispute pages in a browser, with axe on each and on their error states: a provider's
week (the dispute refused with nothing ticked, then the whole week disputed), an invoice's dispute, and a
reported death confirmed from the query. The journey with the back office is test_dispute_journey.py."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from actuals import calendar, services
from disputes import services as dispute_services
from disputes.models import Thread
from portal import clock
from portal.providers.models import ServiceUser
from remittances.models_invoices import Invoice, SubmissionStatus
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db(transaction=True)


def confirmed_week(council: Council) -> dt.date:
    """Provider A's week two weeks back (ended, so it can be confirmed on the real clock), its two lines
    sent to the back office."""
    week_start = calendar.week_start_of(clock.today()) - dt.timedelta(days=14)
    CarePackageLineFactory(provider=council.provider_a, service_user__name="Cyril Clegg")
    user = council.users["provider_a"]
    services.actuals_generate(provider=council.provider_a, week_start=week_start, by=user)
    services.week_confirm(provider=council.provider_a, week_start=week_start, by=user, declaration=True)
    return week_start


def test_a_finance_officer_disputes_a_week_an_invoice_and_confirms_a_death(
    page: Page, live_server, council: Council
) -> None:
    week_start = confirmed_week(council)
    sign_in(page, live_server.url, council.users["finance"])

    page.goto(f"{live_server.url}/council/providers/{council.provider_a.ref}/")
    page.get_by_test_id("provider-weeks").click()
    page.get_by_role("link", name=calendar.week_label(week_start)).click()
    expect(page.get_by_test_id("week-line")).to_have_count(2)
    assert_accessible(page)
    page.get_by_label("The lines I selected").check()
    page.get_by_role("button", name="Raise the dispute").click()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label(re.compile(r"^The whole week: all 2 confirmed lines")).check()
    page.get_by_label("Reason for the dispute").fill("The office was closed that week.")
    page.get_by_role("button", name="Raise the dispute").click()
    expect(page.get_by_role("alert")).to_contain_text("raised on 2 lines")
    expect(page.get_by_test_id("thread-line")).to_have_count(2)
    assert_accessible(page)

    council.provider_a.kind = "children"
    council.provider_a.save()
    invoice = Invoice.objects.create(
        portal_ref="INV-0000000000BR", provider=council.provider_a, service_user=council.line_a.service_user,
        care_package_line=council.line_a, period_start=dt.date(2026, 1, 1), period_end=dt.date(2026, 1, 31),
        provider_invoice_number="BR-1", total=Decimal("500.00"), submitted_by=council.users["provider_a"],
        submitted_at=clock.now(), status=SubmissionStatus.ACCEPTED,
    )  # fmt: skip
    page.goto(f"{live_server.url}/council/invoices/{invoice.pk}/")
    page.get_by_role("link", name="Raise a dispute about this invoice").click()
    assert_accessible(page)
    page.get_by_role("button", name="Raise the dispute").click()
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)
    page.get_by_label("Reason for the dispute").fill("The child left on 20 January.")
    page.get_by_role("button", name="Raise the dispute").click()
    expect(page.get_by_role("alert")).to_contain_text("raised on invoice BR-1")
    expect(page.get_by_label("Agreed amount for the invoice (for an adjusted outcome)")).to_be_visible()
    assert_accessible(page)

    query = dispute_services.query_raise_service_ended(
        provider=council.provider_a,
        by=council.users["provider_a"],
        person=council.line_a.service_user,
        report=dispute_services.EndReport(died=True, on=week_start),
        body="Her daughter rang",
    )
    page.goto(f"{live_server.url}/council/messages/{query.pk}/")
    expect(page.get_by_test_id("death-report")).to_contain_text("Not confirmed yet")
    page.get_by_role("button", name="Save and answer").click()
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)
    page.get_by_label(re.compile("^Confirm the death")).check()
    page.get_by_label("Message to the provider").fill("Thank you for telling us.")
    page.get_by_role("button", name="Save and answer").click()
    expect(page.get_by_role("alert")).to_contain_text("is confirmed")
    expect(page.get_by_test_id("death-report")).to_contain_text("Confirmed")
    assert_accessible(page)
    assert ServiceUser.objects.get(pk=council.line_a.service_user_id).death_confirmed_at is not None
    assert Thread.objects.get(pk=query.pk).state == Thread.State.RESOLVED
