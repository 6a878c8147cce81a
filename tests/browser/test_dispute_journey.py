"""A dispute end to end, and a reported death, with real parts only (issue 7, "Done when").

The same rig as the actuals journey: the simulated back office as a process on a database of its own, a
Redis of the test's own, a real Celery worker on the test database, one clock for all of them. A provider's
week is confirmed with one line held for review (its frustrated hours acknowledged). A finance officer
disputes it from the exception review queue; the provider sees the unread message in the navigation and
answers with a PDF; the officer opens the file, agrees new figures and resolves the dispute as adjusted;
the worker sends the line's second version and the back office's ledger records it, accepted, at its own
amount. From the provider's page the officer opens its weeks and the week, disputes a line that was sent at
confirmation and upholds it: its version with nothing payable reaches the ledger. Then the provider reports
that a person died, and that person's lines of the week in progress are flagged; brokerage confirms the
death from the query, and the flag says so. axe is clean on every page; everything is done with the
keyboard where it matters.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from actuals import services as actuals_services
from actuals.calendar import week_start_of
from actuals.models import ActualLine
from disputes.models import Thread
from portal.accounts.models import User
from portal.providers.services import provider_portal_access_set
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.rig import MONDAY_AFTER, WEEK, Rig
from tests.browser.test_actuals_week_journey import home_support_provider, ledger, watch_csp
from tests.factories import MembershipFactory, UserFactory
from tests.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
D = Decimal
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_dispute_from_the_review_queue_to_the_back_office_and_a_reported_death(
    rig: Rig, page: Page, browser: Browser, live_server, csp_violations: list[str], tmp_path: Path, settings
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    try:
        _journey(rig, page, browser, live_server.url, csp_violations, tmp_path)
    except BaseException:
        print(rig.logs())
        raise


def _held_week(provider, carer):  # type: ignore[no-untyped-def]
    """The provider's week generated and confirmed, one line held for review (frustrated, acknowledged)."""
    actuals_services.actuals_generate(provider=provider, week_start=WEEK, by=carer)
    line = ActualLine.objects.for_provider(provider).filter(week__week_start=WEEK).order_by("pk").first()
    values = actuals_services.LineValues(
        line.planned - 6, D("6"), D("0"), D("0"), "", "In hospital from Wednesday"
    )
    actuals_services.actual_amend(
        provider=provider, line_id=line.pk, by=carer, values=values, revision=line.revision
    )
    for exception in line.exceptions.filter(severity="acknowledge"):
        actuals_services.exception_acknowledge(
            provider=provider, line_id=line.pk, rule=exception.rule, by=carer, reason="Admitted to hospital"
        )
    actuals_services.week_confirm(provider=provider, week_start=WEEK, by=carer, declaration=True)
    line.refresh_from_db()
    assert line.status == ActualLine.Status.HELD
    return line


def _journey(rig: Rig, page: Page, browser: Browser, base: str, csp: list[str], tmp_path: Path) -> None:
    provider = home_support_provider()
    admin = UserFactory(council_role=User.CouncilRole.PORTAL_ADMINISTRATOR)
    provider_portal_access_set(provider=provider, enabled=True, by=admin)
    carer = MembershipFactory(
        provider=provider, user__email="office@example.org", user__full_name="Olive Office"
    ).user
    finance = UserFactory(
        email="finance.officer@example.org",
        full_name="Fiona Finance",
        council_role=User.CouncilRole.FINANCE_OFFICER,
    )
    line = _held_week(provider, carer)
    person = line.care_package_line.service_user

    # 1. The finance officer disputes the held line from the review queue -------------------------------
    finance_context = browser.new_context()
    watch_csp(finance_context, csp)
    staff = finance_context.new_page()
    sign_in(staff, base, finance)
    staff.get_by_role("navigation", name="Menu").get_by_role("link", name="Exception review").click()
    staff.get_by_test_id("review-row").get_by_role("link", name=person.name).click()
    staff.get_by_label(re.compile(r"^Raise a dispute")).check()
    staff.get_by_label("Reason").fill("Please send the hospital's admission letter.")
    staff.get_by_role("button", name="Save decision").click()
    expect(staff.get_by_role("alert")).to_contain_text(f"Dispute raised on the line for {person.name}")
    thread = Thread.objects.get(provider=provider)
    line.refresh_from_db()
    assert line.status == ActualLine.Status.DISPUTED

    # 2. The provider sees it in the navigation and answers with a PDF, by keyboard -------------------------
    sign_in(page, base, carer)
    unread = page.get_by_role("link", name=re.compile(r"^Messages 1 unread"))
    expect(unread).to_be_visible()
    unread.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages")
    assert_accessible(page)
    page.get_by_role("link", name=thread.subject).click()
    expect(page.get_by_test_id("message")).to_have_count(1)
    expect(page.get_by_test_id("message")).to_contain_text("Please send the hospital's admission letter.")
    expect(page.get_by_test_id("thread-line")).to_contain_text(person.name)
    assert_accessible(page)
    letter = tmp_path / "admission letter.pdf"
    letter.write_bytes(PDF)
    page.get_by_label("Your reply").focus()
    page.keyboard.type("The letter is attached: admitted on Wednesday, home on Sunday.")
    page.get_by_label("Attach files (optional)").set_input_files(str(letter))
    page.get_by_role("button", name="Send reply").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("Your reply has been sent.")
    expect(page.get_by_test_id("attachment")).to_have_text("admission letter.pdf")
    assert_accessible(page)

    # 3. The officer reads the file, agrees new figures and resolves it as adjusted ------------------------
    staff.goto(f"{base}/council/messages/")
    expect(staff.get_by_test_id("thread")).to_contain_text(thread.subject)
    assert_accessible(staff)
    staff.get_by_role("link", name=thread.subject).click()
    expect(staff.get_by_test_id("message")).to_have_count(2)
    with staff.expect_download() as download:
        staff.get_by_test_id("attachment").click()
    assert Path(download.value.path()).read_bytes() == PDF
    assert_accessible(staff)
    staff.get_by_label(re.compile(r"^Adjusted")).check()
    staff.get_by_label("Reason", exact=True).fill("Three hours frustrated agreed; the rest was missed.")
    staff.get_by_label(f"Frustrated, {person.name}").fill("3")
    staff.get_by_label(f"Missed, {person.name}").fill("3")
    staff.get_by_role("button", name="Save outcome").click()
    expect(staff.get_by_role("alert")).to_contain_text(f"{thread.ref} resolved: adjusted.")
    assert_accessible(staff)

    line.refresh_from_db()
    assert (line.version, line.frustrated, line.missed, line.status) == (
        2,
        D("3"),
        D("3"),
        ActualLine.Status.SENT,
    )
    wait_until(
        lambda: any(e["version"] == 2 for e in ledger(rig.backoffice, {line.pk}).get(line.pk, [])),
        seconds=30,
        what="the adjusted version to reach the back office's ledger",
    )
    [entry] = [e for e in ledger(rig.backoffice, {line.pk})[line.pk] if e["version"] == 2]
    assert (entry["status"], entry["recorded"]) == ("accepted", 1), entry
    assert D(entry["amount"]) == D(entry["computed_amount"]) == line.amount, entry

    # 3b. From the provider's page, the officer disputes a line already sent, on the council's week page ---
    sent = (
        ActualLine.objects.for_provider(provider)
        .filter(week__week_start=WEEK, version=1)
        .exclude(pk=line.pk)
        .select_related("care_package_line__service_user")
        .order_by("pk")
        .first()
    )
    assert sent is not None and sent.status in (ActualLine.Status.SENT, ActualLine.Status.ACCEPTED)
    staff.goto(f"{base}/council/providers/{provider.ref}/")
    staff.get_by_test_id("provider-weeks").click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Actuals by week")
    assert_accessible(staff)
    staff.get_by_test_id("provider-week").get_by_role("link").first.click()
    sent_row = staff.locator(f"#line-{sent.pk}")
    expect(sent_row.get_by_test_id("line-status")).to_contain_text(re.compile(r"Sent|Accepted"))
    expect(staff.locator(f"#line-{line.pk}").get_by_test_id("line-thread")).to_contain_text(thread.ref)
    assert_accessible(staff)
    sent_row.get_by_role("checkbox").check()
    staff.get_by_label("The lines I selected").check()
    staff.get_by_label("Reason for the dispute").fill("No visit records for Thursday: please send them.")
    staff.get_by_role("button", name="Raise the dispute").click()
    expect(staff.get_by_role("alert")).to_contain_text("raised on 1 line")
    second = Thread.objects.exclude(pk=thread.pk).get(provider=provider)
    expect(staff.get_by_role("heading", level=1)).to_have_text(second.subject)
    expect(staff.get_by_test_id("thread-line")).to_contain_text(sent.care_package_line.service_user.name)
    assert_accessible(staff)
    staff.get_by_label(re.compile(r"^Upheld")).check()
    staff.get_by_label("Reason", exact=True).fill("No records came: Thursday is not paid.")
    staff.get_by_role("button", name="Save outcome").click()
    expect(staff.get_by_role("alert")).to_contain_text(f"{second.ref} resolved: upheld.")
    assert_accessible(staff)
    sent.refresh_from_db()
    assert (sent.version, sent.amount, sent.delivered) == (2, D("0.00"), D("0"))
    wait_until(
        lambda: any(e["version"] == 2 for e in ledger(rig.backoffice, {sent.pk}).get(sent.pk, [])),
        seconds=30,
        what="the disputed line's version with nothing payable to reach the back office's ledger",
    )
    [nothing] = [e for e in ledger(rig.backoffice, {sent.pk})[sent.pk] if e["version"] == 2]
    assert (nothing["status"], nothing["recorded"], D(nothing["amount"])) == ("accepted", 1, D("0.00")), (
        nothing
    )

    # 4. The provider reports a death; the person's lines of the week in progress are flagged -------------
    current = week_start_of(MONDAY_AFTER.date())
    actuals_services.actuals_generate(provider=provider, week_start=current, by=carer)
    page.goto(f"{base}/messages/new/")
    page.get_by_label("Service ended or person died").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Who is it about?").select_option(label=f"{person.name} ({person.ref})")
    page.get_by_label("The person died").check()
    page.get_by_label("Day").fill(str(MONDAY_AFTER.day))
    page.get_by_label("Month").fill(str(MONDAY_AFTER.month))
    page.get_by_label("Year").fill(str(MONDAY_AFTER.year))
    page.get_by_label("Anything the council should know").fill("Her daughter rang this morning.")
    assert_accessible(page)
    page.get_by_role("button", name="Send query").click()
    expect(page.get_by_role("alert")).to_contain_text("sent to the Brokerage team")
    page.goto(f"{base}/actuals/{current.isoformat()}/?show=reason")
    flagged = page.locator(
        f"#line-{ActualLine.objects.get(week__week_start=current, care_package_line=line.care_package_line).pk}"
    )
    expect(flagged.get_by_test_id("exception")).to_contain_text("A provider reported that")
    assert_accessible(page)

    # 5. Brokerage confirms the death from the query: the provider's line now says the council confirmed it
    # (the officer's session of step 1 still: signing in again could meet the code already used)
    query = Thread.objects.get(provider=provider, kind=Thread.Kind.QUERY)
    brokerage = staff
    brokerage.goto(f"{base}/council/messages/{query.pk}/")
    expect(brokerage.get_by_test_id("death-report")).to_contain_text("Not confirmed yet")
    assert_accessible(brokerage)
    brokerage.get_by_label(re.compile(r"^Confirm the death")).check()
    brokerage.get_by_label("Message to the provider").fill("Thank you: brokerage will end the package.")
    brokerage.get_by_role("button", name="Save and answer").click()
    expect(brokerage.get_by_role("alert")).to_contain_text(f"The death of {person.name} is confirmed")
    assert_accessible(brokerage)
    finance_context.close()
    page.reload()
    expect(flagged.get_by_test_id("exception")).to_contain_text("The council has confirmed that")
    assert not csp, csp
