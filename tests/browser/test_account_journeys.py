"""The account journeys in a real browser: invited → password → security code → backup codes → home;
a backup code instead of the app; a lost code reset by email; 90 idle days → refused → unlocked; the
idle-session warning. axe is clean on every page."""

from __future__ import annotations

import base64
import datetime as dt
import re

import pytest
import time_machine
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from portal import clock
from portal.accounts import services
from portal.accounts.models import Membership, User
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council, email_body, enrol
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "my-own-long-password-2026"


def code_from_secret(secret: str) -> str:
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    return f"{totp(key):06d}"


def last_link(mailbox, path: str) -> str:
    """The link in the last email: `mailbox` sends what the live server queued, as a worker would."""
    body = email_body(mailbox()[-1])
    return re.search(rf"https?://[^/\s]+({re.escape(path)}\S+)", body).group(1)


def test_invited_user_sets_password_enrols_saves_backup_codes_and_later_uses_one(
    page: Page, live_server, council: Council, mailbox
) -> None:
    services.user_invite(
        email="new.starter@example.org",
        full_name="New Starter",
        by=council.users["provider_a_admin"],
        provider=council.provider_a,
        provider_role=Membership.Role.PROVIDER_USER,
    )
    page.goto(live_server.url + last_link(mailbox, "/accounts/invitation/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Create your password")
    assert_accessible(page)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Confirm your password").fill("a-different-password-1")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("The passwords do not match").first).to_be_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Confirm your password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your security code")
    assert_accessible(page)
    page.get_by_text("I cannot scan the QR code").click()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Security code").fill(code_from_secret(secret))
    page.get_by_role("button", name="Continue").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Save your backup codes")
    assert_accessible(page)
    codes = page.get_by_test_id("backup-codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("button", name="I have saved my codes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(council.provider_a.name)

    page.get_by_role("button", name="Sign out").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_label("Email address").fill("new.starter@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Use a backup code").click()
    assert_accessible(page)
    page.get_by_label("Backup code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(council.provider_a.name)


def test_a_lost_code_is_reset_by_email_and_password(
    page: Page, live_server, council: Council, mailbox
) -> None:
    user = council.users["provider_a"]
    enrol(user)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="reset my security code").click()
    assert_accessible(page)
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Email me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    page.goto(live_server.url + last_link(mailbox, "/accounts/code/reset/"))
    assert_accessible(page)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Reset my security code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your security code")
    page.get_by_text("I cannot scan the QR code").click()
    page.get_by_label("Security code").fill(code_from_secret(page.get_by_test_id("totp-secret").inner_text()))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Save your backup codes")
    assert "reset the six-digit security code" in email_body(mailbox()[-1])


def test_ninety_idle_days_lock_the_login_until_an_administrator_unlocks_it(
    page: Page, browser, live_server, council: Council
) -> None:
    user = council.users["provider_a"]
    services.sign_in_completed(user=user, method="app")
    later = clock.now() + dt.timedelta(days=91)
    with time_machine.travel(later, tick=True):
        services.sign_in_completed(user=council.users["portal_admin"], method="app")  # the admin works daily
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Email address").fill(user.email)
        page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your login is locked")
        assert_accessible(page)

        admin_page = browser.new_page()
        sign_in(admin_page, live_server.url, council.users["portal_admin"])
        admin_page.get_by_role("link", name="Accounts").first.click()
        admin_page.get_by_label("Status").select_option(label="Locked")
        admin_page.get_by_role("button", name="Apply filters").click()
        assert_accessible(admin_page)
        admin_page.get_by_role("link", name=user.full_name).click()
        assert_accessible(admin_page)
        admin_page.get_by_role("link", name="Unlock this login").click()
        admin_page.get_by_role("button", name="Unlock").click()
        expect(admin_page.get_by_text("Enter a reason").first).to_be_visible()
        admin_page.get_by_label("Reason").fill("Phoned the portal team; identity checked")
        admin_page.get_by_role("button", name="Unlock").click()
        expect(admin_page.get_by_test_id("account-history")).to_contain_text("Unlocked")
        assert_accessible(admin_page)
        admin_page.close()

        sign_in(page, live_server.url, User.objects.get(pk=user.pk))
        expect(page.get_by_role("heading", level=1)).to_have_text(council.provider_a.name)


def test_the_idle_warning_lets_the_user_stay_signed_in(
    page: Page, live_server, council: Council, settings
) -> None:
    sign_in(page, live_server.url, council.users["provider_a"])
    settings.SESSION_COOKIE_AGE = 8
    settings.SESSION_REFRESH_SECONDS = 0  # every page saves the session: its 8 seconds start at the page
    page.goto(f"{live_server.url}/care-package-lines/")
    dialog = page.locator("#session-timeout-dialog")
    expect(dialog).to_be_visible(timeout=10_000)
    expect(page.get_by_role("button", name="Stay signed in")).to_be_focused()
    assert_accessible(page)
    page.get_by_role("button", name="Stay signed in").click()
    expect(dialog).to_be_hidden()
    page.wait_for_url(re.compile(r"/accounts/login/"), timeout=15_000)
