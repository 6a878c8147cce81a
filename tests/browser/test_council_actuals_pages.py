"""The council's side of the weekly cycle in a browser: axe on every page (with their error states), and a
finance officer's bulk approval and single dispute from the review queue, and a reminder run."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from actuals import calendar, services
from actuals.models import ActualLine, ClosureDay
from portal import clock
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db(transaction=True)


def held_lines(council: Council) -> list[ActualLine]:
    """A week two weeks back (ended, so it can be confirmed on the real clock), provider A's two lines held
    for review (ACT-13: frustrated above half the plan, with the provider's reason)."""
    week_start = calendar.week_start_of(clock.today()) - dt.timedelta(days=14)
    CarePackageLineFactory(provider=council.provider_a, service_user__name="Cyril Clegg")
    user = council.users["provider_a"]
    week = services.actuals_generate(provider=council.provider_a, week_start=week_start, by=user).week
    for line in week.lines.all():
        values = services.LineValues(
            Decimal("1"), line.planned - 1, Decimal("0"), Decimal("0"), "", "In hospital"
        )
        services.actual_amend(
            provider=council.provider_a, line_id=line.pk, by=user, values=values, revision=line.revision
        )
        services.exception_acknowledge(
            provider=council.provider_a, line_id=line.pk, rule="ACT-13", by=user, reason="Admitted on Monday"
        )
    services.week_confirm(provider=council.provider_a, week_start=week_start, by=user, declaration=True)
    return list(ActualLine.objects.filter(week=week).order_by("care_package_line__service_user__name"))


def test_a_finance_officer_reviews_and_tracks(page: Page, live_server, council: Council) -> None:
    alice, cyril = held_lines(council)
    sign_in(page, live_server.url, council.users["finance"])

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Exception review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception review")
    expect(page.get_by_test_id("review-row")).to_have_count(2)
    assert_accessible(page)

    page.get_by_role("button", name="Save decision for the selected lines").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: "))
    assert_accessible(page)

    page.get_by_label(re.compile("Select line for Alice Ashworth")).check()
    page.get_by_label(re.compile("^Approve")).check()
    page.get_by_label("Reason").fill("Hospital admission confirmed by the ward")
    page.get_by_role("button", name="Save decision for the selected lines").click()
    expect(page.get_by_text("Approved 1 line")).to_be_visible()
    expect(page.get_by_test_id("review-row")).to_have_count(1)

    page.get_by_role("link", name="Cyril Clegg").click()
    assert_accessible(page)
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
    page.get_by_label(re.compile("^Raise a dispute")).check()
    page.get_by_label("Reason").fill("No hospital record for that week")
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_text("No lines are waiting for review.")).to_be_visible()
    page.goto(f"{live_server.url}/council/exceptions/{cyril.pk}/")
    expect(page.get_by_test_id("dispute")).to_contain_text("No hospital record for that week")
    assert_accessible(page)
    alice.refresh_from_db()
    cyril.refresh_from_db()
    assert (alice.status, cyril.status) == (ActualLine.Status.SENT, ActualLine.Status.DISPUTED)

    page.get_by_role("link", name="Deadlines").click()
    expect(page.get_by_test_id("deadline-row")).to_have_count(2)
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("Send reminders")).click()
    assert_accessible(page)
    page.get_by_role("button", name="Send 2 reminders").click()
    expect(page.get_by_text("Reminders sent to 2 providers")).to_be_visible()

    page.goto(f"{live_server.url}/council/deadlines/?week=2026-01-06")
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)


def test_closure_day_pages_are_accessible(page: Page, live_server, council: Council) -> None:
    ClosureDay.objects.create(day=clock.today() + dt.timedelta(days=20), name="Council closure")
    ClosureDay.objects.create(day=clock.today() - dt.timedelta(days=20), name="Bank holiday")
    sign_in(page, live_server.url, council.users["portal_admin"])
    page.goto(f"{live_server.url}/council/closure-days/")
    expect(page.get_by_test_id("closure-day")).to_have_count(1)
    assert_accessible(page)
    page.get_by_role("group", name="Date the council is closed").get_by_label("Day").fill("31")
    page.get_by_role("group", name="Date the council is closed").get_by_label("Month").fill("2")
    page.get_by_role("group", name="Date the council is closed").get_by_label("Year").fill("2027")
    page.get_by_role("button", name="Add closure day").click()
    expect(page.get_by_text("must be a real date").first).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("^Remove")).click()
    assert_accessible(page)
    page.get_by_role("button", name="Remove closure day").click()
    expect(page.get_by_text("is no longer a closure day")).to_be_visible()
    assert not ClosureDay.objects.filter(name="Council closure").exists()
