"""On a phone (375 CSS pixels wide): the main pages of each kind of user fit the screen (nothing pushes
the page sideways; wide tables scroll in their own region) and axe finds nothing, target sizes
included (WCAG 2.5.8: the header's "Sign out" and the footer's links)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from actuals import calendar
from actuals.services import actuals_generate
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council

PHONE = {"width": 375, "height": 740}


def assert_fits(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


@pytest.mark.parametrize(
    ("actor", "pages"),
    [
        ("provider_a", ["home", "actuals_weeks", "scheduled_payments", "remittances", "care_package_lines", "threads"]),
        ("finance", ["home", "council_exception_review", "council_deadlines", "council_threads", "council_providers", "council_care_package_lines"]),
        ("portal_admin", ["council_accounts", "council_notices", "council_teams"]),
    ],
)  # fmt: skip
def test_the_main_pages_fit_a_phone_and_axe_finds_nothing(
    page: Page, live_server, council: Council, actor: str, pages: list[str]
) -> None:
    week = calendar.week_due()
    actuals_generate(provider=council.provider_a, week_start=week, by=None)
    if actor == "provider_a":
        pages = [*pages, reverse("actuals_week", kwargs={"week": week})]
    page.set_viewport_size(PHONE)
    sign_in(page, live_server.url, council.users[actor])
    for name in pages:
        page.goto(f"{live_server.url}{name if name.startswith('/') else reverse(name)}")
        assert_fits(page)
        assert_accessible(page)
