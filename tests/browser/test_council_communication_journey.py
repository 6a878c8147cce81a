"""Council communication in a browser: a portal administrator previews and writes a notice of change and a
guidance page; a provider user sees the notice on the home page, dismisses it with the keyboard only,
reads it again under Notices, and opens the guidance page. axe is clean on every new page, error states
included."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from portal.content.models import GuidancePage, Notice, NoticeRead
from tests.browser.conftest import assert_accessible, sign_in
from tests.conftest import Council

pytestmark = pytest.mark.django_db(transaction=True)

NOTICE_TEXT = """From **6 April** the new framework rates apply.

## What you need to do

- check your care package lines
- [read the guidance](/guidance/)

<script>document.title = 'hacked'</script>"""

GUIDANCE_TEXT = """## Do

- submit your actuals by 5pm each Tuesday

## Who to contact

| What | Who |
| --- | --- |
| A payment | Send a payment query |
"""


def tab_to(page: Page, name: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element's accessible text is `name` (the keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => (document.activeElement && document.activeElement.textContent || '').trim()"
        )
        if re.sub(r"\s+", " ", focused) == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


def test_an_administrator_writes_and_a_provider_reads_and_dismisses(
    page: Page, live_server, council: Council, csp_violations
) -> None:
    # 1. The portal administrator writes a notice, with an error first and a preview -------------------
    sign_in(page, live_server.url, council.users["portal_admin"])
    page.get_by_role("link", name="Notices", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notices")
    assert_accessible(page)

    page.get_by_role("button", name="Write a notice").click()
    assert_accessible(page)
    page.get_by_label("Text").fill(NOTICE_TEXT)
    page.get_by_role("button", name="Save notice").click()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.get_by_role("link", name="Enter a title")).to_be_visible()
    expect(page.get_by_label("Text")).to_have_value(NOTICE_TEXT)  # nothing typed is lost
    assert_accessible(page)

    page.get_by_label("Title").fill("New rates from April")
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_test_id("preview")
    expect(preview.get_by_role("heading", name="What you need to do")).to_be_visible()
    expect(preview).to_contain_text("<script>")  # shown as text
    assert_accessible(page)
    assert not Notice.objects.exists()
    page.get_by_role("button", name="Save notice").click()
    expect(page.get_by_text("Notice “New rates from April” written.")).to_be_visible()
    expect(page.get_by_test_id("notice-row")).to_have_count(1)
    assert_accessible(page)

    page.get_by_role("link", name="New rates from April").click()
    expect(page.get_by_test_id("read-by")).to_contain_text("0 of the")
    assert_accessible(page)
    page.get_by_role("link", name="Withdraw this notice").click()
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()

    # 2. ... and a guidance page ---------------------------------------------------------------------------
    page.get_by_role("link", name="Back to notices").click()
    page.get_by_role("link", name="Guidance pages").click()
    assert_accessible(page)
    page.get_by_role("button", name="Write a guidance page").click()
    page.get_by_label("Title").fill("Do's and don'ts for home support")
    page.get_by_label("Text").fill(GUIDANCE_TEXT)
    page.get_by_label("Order").fill("first")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_test_id("preview").get_by_role("table")).to_be_visible()
    expect(page.get_by_text("The order must be a whole number").first).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Order").fill("10")
    page.get_by_label("Published: providers can read it").check()
    page.get_by_role("button", name="Save page").click()
    expect(page.get_by_text("published.")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Do's and don'ts for home support").click()
    assert_accessible(page)
    assert GuidancePage.objects.get().slug == "dos-and-donts-for-home-support"
    page.get_by_role("button", name="Sign out").first.click()

    # 3. A provider user sees the notice on the home page and dismisses it by keyboard only ----------------
    sign_in(page, live_server.url, council.users["provider_a"])
    banner = page.get_by_test_id("notice")
    expect(banner).to_have_count(1)
    expect(banner).to_contain_text("New rates from April")
    expect(banner.get_by_role("heading", name="What you need to do")).to_be_visible()
    assert await_title_untouched(page)
    assert_accessible(page)

    tab_to(page, "Dismiss notice: New rates from April")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Notice dismissed: “New rates from April”")).to_be_visible()
    expect(page.get_by_test_id("notice")).to_have_count(0)
    assert NoticeRead.objects.filter(user=council.users["provider_a"]).count() == 1
    assert_accessible(page)

    page.get_by_role("link", name="Notices from the council").click()
    expect(page.get_by_test_id("notice-read")).to_contain_text("You dismissed this notice")
    assert_accessible(page)

    # 4. ... and opens the guidance -------------------------------------------------------------------------
    page.get_by_role("link", name="Guidance", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Guidance")
    assert_accessible(page)
    page.get_by_role("link", name="Do's and don'ts for home support").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Do's and don'ts for home support")
    expect(page.get_by_test_id("guidance-body").get_by_role("table")).to_contain_text("Send a payment query")
    assert_accessible(page)
    assert not csp_violations


def await_title_untouched(page: Page) -> bool:
    """The script typed into the notice never ran."""
    return "hacked" not in page.title()
