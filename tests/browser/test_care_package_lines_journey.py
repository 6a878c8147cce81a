"""A provider user signs in, sees their own care package lines and none of another provider's, filters
them, sorts them and pages through them; axe is clean on every page, by keyboard as well as mouse."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council, current_code, enrol
from tests.factories import CarePackageLineFactory, ServiceTypeFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def lines(council: Council) -> Council:
    day_care = ServiceTypeFactory(
        code="DAY_CARE", name="Day care", unit="sessions", step=Decimal("1"), paid_on="plan"
    )
    CarePackageLineFactory(
        provider=council.provider_a, service_type=day_care, service_user__name="Dorothy Dixon"
    )
    CarePackageLineFactory.create_batch(55, provider=council.provider_a, status="suspended")
    return council


def test_provider_user_sees_own_lines_filters_and_pages(
    page: Page, live_server, lines: Council, csp_violations
) -> None:
    sign_in(page, live_server.url, lines.users["provider_a"])
    expect(page.get_by_role("heading", level=1)).to_have_text(lines.provider_a.name)
    expect(page.get_by_test_id("provider-in-use")).to_have_text(lines.provider_a.name)
    assert_accessible(page)

    page.get_by_role("link", name="Care package lines").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Care package lines")
    expect(page.get_by_test_id("result-count")).to_have_text("57")
    assert "Bernard Booth" not in page.content()
    assert_accessible(page)

    page.get_by_label("Service type").select_option(label="Day care")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("result-count")).to_have_text("1")
    expect(page.get_by_test_id("line-row")).to_contain_text("Dorothy Dixon")
    assert_accessible(page)

    page.get_by_role("link", name="Clear filters").click()
    page.get_by_label("Status").select_option(label="Suspended")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("result-count")).to_have_text("55")
    expect(page.get_by_test_id("line-row")).to_have_count(50)
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_test_id("line-row")).to_have_count(5)
    assert "status=suspended" in page.url
    assert_accessible(page)

    page.goto(f"{live_server.url}/care-package-lines/{lines.line_b.ref}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    assert_accessible(page)
    assert not csp_violations


def test_keyboard_only_sign_in_and_filter(page: Page, live_server, lines: Council) -> None:
    enrol(lines.users["provider_a"])
    page.goto(f"{live_server.url}/accounts/login/")
    page.keyboard.press("Tab")  # the skip link comes first
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.get_by_label("Email address").focus()
    page.keyboard.type(lines.users["provider_a"].email)
    page.keyboard.press("Tab")
    page.keyboard.type("a-long-test-password-42")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    page.get_by_label("Security code").focus()
    page.keyboard.type(current_code(enrol(lines.users["provider_a"])))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(lines.provider_a.name)

    page.goto(f"{live_server.url}/care-package-lines/")
    page.get_by_label("Search").focus()
    page.keyboard.type("Dorothy")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("result-count")).to_have_text("1")


def test_javascript_off_the_list_still_filters(browser, live_server, lines: Council) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server.url, lines.users["provider_a"])
    page.goto(f"{live_server.url}/care-package-lines/?q=Dorothy")
    expect(page.get_by_test_id("result-count")).to_have_text("1")
    context.close()


def test_staff_list_across_providers_is_accessible(page: Page, live_server, lines: Council) -> None:
    sign_in(page, live_server.url, lines.users["finance"])
    page.get_by_role("link", name="All care package lines").first.click()
    expect(page.get_by_test_id("result-count")).to_have_text("58")
    page.get_by_label("Provider").fill(lines.provider_b.ref)
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_test_id("result-count")).to_have_text("1")
    assert_accessible(page)
    page.get_by_role("link", name="Bernard Booth").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bernard Booth")
    assert_accessible(page)
