"""A provider's week of actuals end to end, and the finance officer's review, with real parts only (issue 6,
"Done when").

The simulated back office runs as a process on a database of its own, seeded with the demo council; the
portal's care data is pulled from it; a Redis of the test's own is the broker and a real Celery worker on
the test database delivers the outbox. Every process (the live server in this one, the worker and the back
office) reads the same clock offset file, which puts them all on the Monday after the week, mid-morning:
the week has ended and its deadline (5pm the next day) is still ahead.

The provider signs in, sees the checklist for the week due, generates the week, amends a line inline with
the keyboard only (htmx), records another without JavaScript (an off-step quantity: a blocking exception),
fixes it inline, makes a third need a reason (frustrated above half the plan) and gives it, then confirms
on the declaration page. The worker sends the clean lines: the back office's ledger records each once,
accepted, at the amount it computes itself, and not the held line; the worker emails the receipt. A finance
officer approves the held line from the exception review queue; the worker sends it; it is in the ledger.
The back office's decisions are pulled back and the week shows every line accepted. axe is clean on every
page visited, and nothing breaks the Content-Security-Policy.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from actuals.calendar import week_end
from actuals.models import ActualLine
from actuals.services import lines_to_generate
from contrOCC_sync.inbound import pull_all
from contrOCC_sync.models import OutboxMessage
from portal.accounts.models import User
from portal.providers.models import CarePackageLine, Provider
from portal.providers.services import provider_portal_access_set
from tests.backoffice_process import BackOffice
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.rig import WEEK, Rig
from tests.conftest import email_body, read_mailbox
from tests.factories import MembershipFactory, UserFactory
from tests.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WEEK_URL = f"/actuals/{WEEK.isoformat()}/"
D = Decimal


# The data: a home-support provider of the seeded council, its people, the staff ---------------------------


def home_support_provider() -> Provider:
    """The smallest adult provider of the seeded council with at least three home support lines, whose
    lines all run the whole week, active, for living people: its generated week starts with no exceptions."""
    candidates = []
    for provider in Provider.objects.filter(kind=Provider.Kind.ADULT, active=True):
        lines = lines_to_generate(provider=provider, week_start=WEEK)
        clean = all(
            line.status == CarePackageLine.Status.ACTIVE
            and line.start_date <= WEEK
            and (line.end_date is None or line.end_date >= week_end(WEEK))
            and line.service_user.deceased_on is None
            for line in lines
        )
        home_support = [
            line for line in lines if line.service_type.code == "HOMESUP" and line.planned_per_week >= 4
        ]
        if lines and clean and len(home_support) >= 3:
            candidates.append((len(lines), provider.ref, provider))
    assert candidates, "the seeded council has no provider the journey can use"
    return min(candidates)[2]


def amount(quantity: Decimal, rate: Decimal) -> Decimal:
    """The back office's own computation: paid quantity × rate, half up to the penny."""
    return (quantity * rate).quantize(D("0.01"), rounding=ROUND_HALF_UP)


def money(value: Decimal) -> str:
    return f"£{value:,.2f}"


def qty(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# The back office's ledger -------------------------------------------------------------------------------


def ledger(backoffice: BackOffice, line_ids: set[int]) -> dict[int, list[dict[str, Any]]]:
    """The back office's record of our lines: every entry of each portal line id."""
    found: dict[int, list[dict[str, Any]]] = {}
    for entry in backoffice.sim("GET", "ledger")["actual_lines"]:
        if int(entry["portal_line_id"]) in line_ids:
            found.setdefault(int(entry["portal_line_id"]), []).append(entry)
    return found


def assert_recorded_once_and_accepted(
    entries: dict[int, list[dict[str, Any]]], lines: list[ActualLine]
) -> None:
    for line in lines:
        got = entries.get(line.pk, [])
        assert len(got) == 1, (line.pk, got)
        entry = got[0]
        assert (entry["version"], entry["recorded"], entry["receipts"]) == (1, 1, 1), entry
        # An amount_mismatch here would be a bug: the portal and the back office compute differently.
        assert (entry["status"], entry["reason_code"]) == ("accepted", None), entry
        assert D(entry["amount"]) == D(entry["computed_amount"]) == line.amount, (entry, line.amount)


def all_delivered() -> bool:
    return set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxMessage.State.DELIVERED}


# Browser helpers ------------------------------------------------------------------------------------------


def watch_csp(context: BrowserContext, seen: list[str]) -> None:
    context.on(
        "console",
        lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None,
    )


def row(page: Page, line: ActualLine) -> Any:
    return page.locator(f"#line-{line.pk}")


def change_link(page: Page, line: ActualLine) -> Any:
    return row(page, line).get_by_role("link", name=re.compile(r"^Change\b"))


def field(page: Page, line: ActualLine, name: str) -> Any:
    return page.locator(f"#line-form-{line.pk}-{name}")


# The journey ----------------------------------------------------------------------------------------------


def test_a_providers_week_from_generation_to_the_back_office_and_finance_review(
    rig: Rig, page: Page, browser: Browser, live_server, csp_violations: list[str]
) -> None:
    try:
        _journey(rig, page, browser, live_server.url, csp_violations)
    except BaseException:
        print(rig.logs())
        raise


def _journey(rig: Rig, page: Page, browser: Browser, base: str, csp: list[str]) -> None:
    provider = home_support_provider()
    portal_admin = UserFactory(council_role=User.CouncilRole.PORTAL_ADMINISTRATOR)
    provider_portal_access_set(provider=provider, enabled=True, by=portal_admin)
    carer = MembershipFactory(
        provider=provider, user__email="rota.manager@example.org", user__full_name="Rota Manager"
    ).user
    finance = UserFactory(
        email="finance.officer@example.org",
        full_name="Fiona Finance",
        council_role=User.CouncilRole.FINANCE_OFFICER,
    )
    home_support = sorted(
        (
            line
            for line in lines_to_generate(provider=provider, week_start=WEEK)
            if line.service_type.code == "HOMESUP" and line.planned_per_week >= 4
        ),
        key=lambda line: line.ref,
    )
    inline_cpl, no_js_cpl, frustrated_cpl = home_support[:3]
    expected_lines = len(lines_to_generate(provider=provider, week_start=WEEK))

    # 1. Sign in: the home page is the checklist for the week due --------------------------------------
    sign_in(page, base, carer)
    expect(page.get_by_role("heading", level=1)).to_have_text(provider.name)
    expect(page.get_by_role("heading", level=2, name="Week of 30 Nov 2026")).to_be_visible()
    expect(page.get_by_test_id("deadline")).to_have_text(
        re.compile(r"Due by 5pm on Tuesday 8 December 2026: 1 day [67] hours left\.")
    )
    tasks = page.locator(".govuk-task-list__item")
    expect(tasks).to_have_count(5)
    expect(tasks.nth(0)).to_contain_text("Generate actuals")
    expect(tasks.nth(0)).to_contain_text("To do")
    expect(tasks.nth(4)).to_contain_text("Cannot start yet")
    assert_accessible(page)

    # 2. Generate the week -------------------------------------------------------------------------------
    page.get_by_role("link", name="Generate actuals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Week of 30 Nov 2026")
    expect(page.get_by_text("Not started", exact=True)).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Generate actuals").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"{expected_lines} lines generated from your care package lines."
    )
    expect(page.get_by_test_id("line-count")).to_have_text(str(expected_lines))
    expect(page.get_by_test_id("actual-line")).to_have_count(expected_lines)
    expect(page.get_by_test_id("blocking-count")).to_have_text("0")
    expect(page.get_by_test_id("reason-count")).to_have_text("0")
    assert_accessible(page)
    lines = {line.care_package_line_id: line for line in ActualLine.objects.for_provider(provider)}
    inline, no_js, frustrated = (lines[c.pk] for c in (inline_cpl, no_js_cpl, frustrated_cpl))

    # 3. Amend a line inline with htmx, by keyboard only ---------------------------------------------------
    delivered = inline.planned - D("1.5")
    change_link(page, inline).focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#line-{inline.pk}[data-testid=actual-line-editing]")).to_be_visible()
    expect(field(page, inline, "delivered")).to_be_focused()  # the first field of the row takes focus
    assert D(field(page, inline, "delivered").input_value()) == inline.planned
    assert_accessible(page)  # the week with a row being edited
    page.keyboard.press("Control+A")
    page.keyboard.type(qty(delivered))
    for name in ("frustrated", "missed", "extra", "adjustment_form_ref", "comment"):
        page.keyboard.press("Tab")
        expect(field(page, inline, name)).to_be_focused()
    page.keyboard.type("Two evening visits cut short at the family's request.")
    page.keyboard.press("Tab")
    expect(row(page, inline).get_by_role("button", name=re.compile(r"^Save\b"))).to_be_focused()
    page.keyboard.press("Enter")
    saved = page.locator(f"#line-{inline.pk}[data-testid=actual-line]")
    expect(saved.get_by_test_id("delivered")).to_have_text(qty(delivered))
    expect(saved.get_by_test_id("amount")).to_have_text(money(amount(delivered, inline.rate)))
    expect(saved).to_contain_text("Two evening visits cut short")
    expect(saved.get_by_test_id("exception")).to_have_count(0)
    expect(change_link(page, inline)).to_be_focused()  # focus comes back to the row's own link
    assert_accessible(page)  # the row as it comes back
    inline.refresh_from_db()
    assert (inline.delivered, inline.amended, inline.amount) == (
        delivered,
        True,
        amount(delivered, inline.rate),
    )

    # 4. Without JavaScript, on another line: an off-step quantity is a blocking exception -----------------
    no_js_context = browser.new_context(java_script_enabled=False, storage_state=page.context.storage_state())
    watch_csp(no_js_context, csp)
    plain = no_js_context.new_page()
    plain.goto(f"{base}{WEEK_URL}lines/{no_js.pk}/")
    expect(plain.get_by_role("heading", level=1)).to_have_text(f"{no_js_cpl.service_user.name}: Home support")
    plain.get_by_label("Delivered (hours)").fill("3.1")
    plain.get_by_label("Comment").fill("Carer off sick on Thursday; a shorter visit covered.")
    plain.get_by_role("button", name="Save line").click()
    expect(plain.get_by_role("alert")).to_contain_text(f"Line for {no_js_cpl.service_user.name} saved.")
    plain_row = plain.locator(f"#line-{no_js.pk}")
    expect(plain_row.get_by_test_id("delivered")).to_have_text("3.1")
    expect(plain_row.get_by_test_id("exception")).to_have_count(1)
    expect(plain_row.get_by_test_id("exception")).to_contain_text("Must fix")
    expect(plain_row.get_by_test_id("exception")).to_contain_text(
        "Delivered must be in steps of 0.25 hours: 3.1 is not."
    )
    expect(plain.get_by_test_id("blocking-count")).to_have_text("1")
    no_js_context.close()

    # The line's own page (the no-JavaScript form), with its exception, is accessible too.
    page.goto(f"{base}{WEEK_URL}lines/{no_js.pk}/")
    expect(page.get_by_test_id("exception")).to_contain_text("Must fix")
    expect(page.get_by_label("Delivered (hours)")).to_have_value("3.10")
    assert_accessible(page)

    # The week says so, and will not be confirmed until it is fixed.
    page.goto(f"{base}{WEEK_URL}")
    expect(page.get_by_test_id("blocking-count")).to_have_text("1")
    expect(row(page, no_js).get_by_test_id("exception")).to_contain_text("Must fix")

    # Fix it inline (with the mouse this time): 3.25 hours, with a comment.
    change_link(page, no_js).click()
    field(page, no_js, "delivered").fill("3.25")
    field(page, no_js, "comment").fill("Carer off sick on Thursday; a 15-minute visit was added on Friday.")
    row(page, no_js).get_by_role("button", name=re.compile(r"^Save\b")).click()
    fixed = page.locator(f"#line-{no_js.pk}[data-testid=actual-line]")
    expect(fixed.get_by_test_id("delivered")).to_have_text("3.25")
    expect(fixed.get_by_test_id("exception")).to_have_count(0)
    expect(fixed.get_by_test_id("amount")).to_have_text(money(amount(D("3.25"), no_js.rate)))

    # 5. Another line needs a reason: frustrated above half the plan -----------------------------------
    lost = frustrated.planned - D("1")
    change_link(page, frustrated).click()
    field(page, frustrated, "delivered").fill("1")
    field(page, frustrated, "frustrated").fill(qty(lost))
    field(page, frustrated, "comment").fill("Admitted to hospital on Tuesday morning; visits cancelled.")
    row(page, frustrated).get_by_role("button", name=re.compile(r"^Save\b")).click()
    held_row = page.locator(f"#line-{frustrated.pk}[data-testid=actual-line]")
    expect(held_row.get_by_test_id("exception")).to_have_count(1)
    expect(held_row.get_by_test_id("exception")).to_contain_text("Needs a reason")
    expect(held_row.get_by_test_id("exception")).to_contain_text(
        f"{qty(lost)} hours frustrated or missed is more than half the plan of {qty(frustrated.planned)}."
    )
    page.reload()
    expect(page.get_by_test_id("blocking-count")).to_have_text("0")
    expect(page.get_by_test_id("reason-count")).to_have_text("1")
    assert_accessible(page)

    row(page, frustrated).get_by_role("link", name=re.compile(r"^Give a reason")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Give a reason")
    expect(page.locator(".govuk-inset-text")).to_contain_text("ACT-13")
    assert_accessible(page)
    reason = "Hospital admission confirmed by the ward; the visits could not be rearranged."
    page.get_by_label("Why is the line right as it is?").fill(reason)
    page.get_by_role("button", name="Save reason").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"Reason recorded for {frustrated_cpl.service_user.name}."
    )
    expect(row(page, frustrated).get_by_test_id("exception")).to_contain_text("Reason given")
    expect(page.get_by_test_id("reason-count")).to_have_text("0")

    # 6. Review and confirm ----------------------------------------------------------------------------
    drafts = list(ActualLine.objects.for_provider(provider))
    total = sum((line.amount for line in drafts), D("0"))
    page.get_by_role("button", name="Review and confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm the week of 30 Nov 2026")
    expect(page.get_by_test_id("total-to-pay")).to_have_text(money(total))
    by_state = page.get_by_role("table", name="Lines by state")
    expect(by_state.get_by_role("row", name=re.compile(r"^Draft"))).to_contain_text(str(expected_lines))
    expect(page.get_by_text("1 line has an exception you gave a reason for")).to_be_visible()
    assert_accessible(page)
    page.get_by_label(re.compile(r"^I am confirming that all payments and amendments are correct")).check()
    page.get_by_role("button", name="Confirm the week").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Scheduled payments")
    expect(page.get_by_role("alert")).to_contain_text(
        f"Week of 30 Nov 2026 confirmed. {expected_lines - 1} lines sent to the council, "
        "1 held for the council's review. We have emailed you a receipt."
    )
    card = page.get_by_test_id("payment-week").filter(has_text="Week of 30 Nov 2026")
    expect(card).to_contain_text("Confirmed")
    expect(card).not_to_contain_text("Confirmed late")
    held_amount = ActualLine.objects.get(pk=frustrated.pk).amount  # held for review: not in the total
    expect(card.get_by_test_id("total-to-pay")).to_have_text(money(total - held_amount))
    expect(card.get_by_test_id("not-to-pay-held")).to_contain_text(money(held_amount))
    assert_accessible(page)

    # The receipt: queued as the confirmation commits, sent by the worker (the live server sends nothing).
    def receipts() -> list[Any]:
        return [m for m in read_mailbox(rig.mail) if m["Subject"].startswith("Week of 30 Nov 2026 confirmed")]

    rig.worker.wait_ready()
    wait_until(receipts, seconds=30, what="the worker to send the receipt", every=0.25)
    sent = receipts()
    assert len(sent) == 1, [m["Subject"] for m in read_mailbox(rig.mail)]
    assert sent[0]["Subject"] == f"Week of 30 Nov 2026 confirmed: {money(total - held_amount)}"
    assert carer.email in sent[0]["To"]
    body = email_body(sent[0])
    assert f"Lines sent to the council: {expected_lines - 1}" in body
    assert (
        f"Lines held for the council's review: 1 ({money(held_amount)}, paid once the council approves them)"
        in body
    )
    assert f"confirmed the actuals of {provider.name} ({provider.ref}) for the week of 30 Nov 2026 on" in body

    # 7. The worker delivers the clean lines; the back office records each once, accepted -----------------
    confirmed = {line.pk: line for line in ActualLine.objects.for_provider(provider)}
    assert confirmed[frustrated.pk].status == ActualLine.Status.HELD
    clean = [line for pk, line in confirmed.items() if pk != frustrated.pk]
    assert {line.status for line in clean} == {ActualLine.Status.SENT}
    rig.worker.wait_ready()
    ids = set(confirmed)
    wait_until(
        lambda: len(ledger(rig.backoffice, ids)) >= len(clean),
        seconds=30,
        what="the confirmed lines to reach the back office's ledger",
        every=0.25,
    )
    entries = ledger(rig.backoffice, ids)
    assert frustrated.pk not in entries  # held for review: not sent
    assert_recorded_once_and_accepted(entries, clean)
    wait_until(all_delivered, seconds=10, what="the worker to mark its message delivered")

    # The week shows what became of each line; the checklist is done.
    page.goto(f"{base}{WEEK_URL}")
    statuses = page.get_by_test_id("actual-line").locator(".govuk-tag")
    expect(statuses.get_by_text("Sent", exact=True)).to_have_count(len(clean))
    expect(statuses.get_by_text("Held for review", exact=True)).to_have_count(1)
    expect(row(page, frustrated)).to_contain_text("Held for review")
    expect(change_link(page, inline)).to_have_count(0)  # locked: only a correction changes it now
    page.goto(f"{base}/")
    expect(page.get_by_test_id("deadline")).to_have_text(
        re.compile(r"^Confirmed\. Due by 5pm on Tuesday 8 December")
    )
    expect(page.locator(".govuk-task-list__status")).to_have_text(["Completed"] * 5)

    # 8. Finance: the exception review queue ----------------------------------------------------------
    _finance_review(rig, browser, base, csp, finance, confirmed[frustrated.pk], reason)
    wait_until(
        lambda: frustrated.pk in ledger(rig.backoffice, ids),
        seconds=30,
        what="the approved line to reach the back office's ledger",
        every=0.25,
    )
    wait_until(all_delivered, seconds=10, what="the worker to mark the approved line's message delivered")
    assert OutboxMessage.objects.count() == 2  # the confirmation's submission, then the approval's
    entries = ledger(rig.backoffice, ids)
    confirmed = {line.pk: line for line in ActualLine.objects.for_provider(provider)}
    assert_recorded_once_and_accepted(entries, list(confirmed.values()))

    # 9. The back office's decisions come back onto the lines --------------------------------------------
    def all_accepted() -> bool:
        pull_all()  # the worker may be pulling too: either applies the events once
        statuses = set(ActualLine.objects.for_provider(provider).values_list("status", flat=True))
        return statuses == {ActualLine.Status.ACCEPTED}

    wait_until(all_accepted, seconds=30, what="the back office's decisions to come back", every=0.5)
    page.goto(f"{base}{WEEK_URL}")
    expect(page.get_by_test_id("actual-line")).to_have_count(expected_lines)
    statuses = page.get_by_test_id("actual-line").locator(".govuk-tag")
    expect(statuses.get_by_text("Accepted", exact=True)).to_have_count(expected_lines)
    assert_accessible(page)

    assert not csp, csp


def _finance_review(
    rig: Rig, browser: Browser, base: str, csp: list[str], finance: User, line: ActualLine, reason: str
) -> None:
    """The finance officer finds the held line in the exception review queue with the provider's reason,
    opens it and approves it with a reason of their own."""
    cpl = line.care_package_line
    context = browser.new_context()
    watch_csp(context, csp)
    page = context.new_page()
    sign_in(page, base, finance)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Exception review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception review")
    expect(page.get_by_test_id("result-count")).to_have_text("1")
    queued = page.get_by_test_id("review-row")
    expect(queued).to_have_count(1)
    expect(queued).to_contain_text(cpl.service_user.name)
    expect(queued).to_contain_text(line.provider.name)
    expect(queued.get_by_test_id("review-exception")).to_contain_text("ACT-13")
    expect(queued).to_contain_text(f"Provider's reason: “{reason}”")
    assert_accessible(page)

    queued.get_by_role("link", name=cpl.service_user.name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{cpl.service_user.name}: Home support")
    expect(page.get_by_test_id("exception")).to_contain_text(f"Provider's reason: “{reason}”")
    assert_accessible(page)
    page.get_by_label(re.compile(r"^Approve")).check()
    page.get_by_label("Reason").fill("Checked with the ward: the admission dates match.")
    page.get_by_role("button", name="Save decision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception review")
    expect(page.get_by_role("alert")).to_contain_text(
        f"Approved the line for {cpl.service_user.name}: it is on the way to the back office."
    )
    expect(page.get_by_text("No lines are waiting for review.")).to_be_visible()
    assert_accessible(page)
    context.close()
    line.refresh_from_db()
    assert line.status == ActualLine.Status.SENT
    assert (line.review_reason, line.reviewed_by) == (
        "Checked with the ward: the admission dates match.",
        finance,
    )
