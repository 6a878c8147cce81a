"""axe on every page not already covered by a journey (accounts, providers, the back-office link), as each
actor sees it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council

pytestmark = pytest.mark.django_db(transaction=True)


def test_portal_administrator_pages(page: Page, live_server, council: Council) -> None:
    sign_in(page, live_server.url, council.users["portal_admin"])
    user = council.users["provider_a"]
    for path in [
        "/accounts/security/",
        "/council/accounts/",
        "/council/accounts/invite/",
        f"/council/accounts/{user.pk}/",
        f"/council/accounts/{user.pk}/lock/",
        f"/council/accounts/{user.pk}/deactivate/",
        f"/council/accounts/{user.pk}/reset-code/",
        "/council/providers/",
        f"/council/providers/{council.provider_a.ref}/",
        "/council/back-office/",
    ]:
        page.goto(live_server.url + path)
        assert_accessible(page)
    page.goto(live_server.url + "/council/accounts/invite/")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)


def test_provider_administrator_pages(page: Page, live_server, council: Council) -> None:
    sign_in(page, live_server.url, council.users["provider_a_admin"])
    colleague = council.users["provider_a"]
    for path in [
        "/provider/users/",
        "/provider/users/invite/",
        f"/provider/users/{colleague.pk}/",
        f"/provider/users/{colleague.pk}/remove/",
    ]:
        page.goto(live_server.url + path)
        assert_accessible(page)


def test_code_fallback_pages(page: Page, live_server, council: Council) -> None:
    from tests.conftest import enrol

    user = council.users["provider_a"]
    enrol(user)
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill("a-long-test-password-42")
    page.get_by_role("button", name="Sign in").click()
    assert_accessible(page)
    page.get_by_role("link", name="Get a code by email").click()
    page.get_by_role("button", name="Email me a code").click()
    expect(page.get_by_text("We have emailed you a security code")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Enter your security code").first).to_be_visible()
    assert_accessible(page)
