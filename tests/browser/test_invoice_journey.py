"""Invoices and expense claims end to end, with real parts only (issue 8, "Done when").

The rig of the actuals journey: the simulated back office as a process on a database of its own, seeded
with the demo council and pulled into the portal, a Redis of the test's own, a real Celery worker on the
test database delivering the outbox, and one clock for them all (Monday 7 December 2026).

A children's agency raises an invoice for November through the wizard, by keyboard only, putting a bad
answer right on the way; the worker sends it; the back office accepts it (its own rule: the child's
placement with the agency covers the period and the rate and amounts are the placement's); the portal
pulls the decision and the invoice shows "Accepted". A second invoice, for October, is forced to a
rejection in the simulator before it is sent (its reference is on the check page): it shows the reason, on
its page and the child's. A finance officer finds both on the council's pages. A foster carer claims an
expense: a file that is not a receipt (an executable named .pdf) is refused, a photo is accepted, the
claim is accepted by the back office, and the receipt downloads as it was. axe is clean on every page and
nothing breaks the Content-Security-Policy.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from contrOCC_sync.inbound import stream_pull
from contrOCC_sync.models import OutboxMessage, SyncRun, SyncStream
from portal.accounts.models import User
from portal.providers.models import CarePackageLine, Provider, ServiceType
from portal.providers.services import provider_portal_access_set
from remittances.models_invoices import ExpenseClaim, Invoice
from tests.browser.conftest import assert_accessible, sign_in
from tests.browser.rig import Rig
from tests.browser.test_actuals_week_journey import watch_csp
from tests.factories import MembershipFactory, UserFactory
from tests.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
D = Decimal
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
)
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def money(value: Decimal) -> str:
    return f"£{value:,.2f}"


def placement_for_invoices() -> CarePackageLine:
    """An active placement paid on invoice of the seeded council's smallest agency, running since before
    October 2026 with no end before December."""
    candidates = (
        CarePackageLine.objects.filter(
            provider__kind=Provider.Kind.CHILDREN,
            provider__active=True,
            service_type__paid_on=ServiceType.PaidOn.INVOICE,
            status=CarePackageLine.Status.ACTIVE,
            start_date__lte=dt.date(2026, 10, 1),
        )
        .exclude(end_date__lt=dt.date(2026, 12, 1))
        .select_related("provider", "service_user", "service_type")
    )
    found = sorted(candidates, key=lambda line: (line.provider.care_package_lines.count(), line.ref))
    assert found, "the seeded council has no agency placement paid on invoice"
    return found[0]


def delivered(kind: str, count: int) -> bool:
    return OutboxMessage.objects.filter(kind=kind, state=OutboxMessage.State.DELIVERED).count() >= count


def pull_decisions() -> None:
    run = stream_pull(name=SyncStream.Name.SUBMISSION_EVENTS)
    assert run.status == SyncRun.Status.OK, run.error


def ledger_entry(rig: Rig, name: str, portal_ref: str) -> dict:
    entries = [e for e in rig.backoffice.sim("GET", "ledger")[name] if e["portal_ref"] == portal_ref]
    assert len(entries) == 1, entries
    return entries[0]


def test_an_agency_invoices_through_the_wizard_and_sees_the_back_offices_decisions(
    rig: Rig, page: Page, browser: Browser, live_server, csp_violations: list[str]
) -> None:
    try:
        _agency_journey(rig, page, browser, live_server.url, csp_violations)
    except BaseException:
        print(rig.logs())
        raise


def _keyboard_date(page: Page, label: str, value: dt.date) -> None:
    """Type a GOV.UK date input's day, month and year with the keyboard, leaving focus after the year."""
    page.get_by_role("group", name=re.compile(f"^{label}")).get_by_label("Day").focus()
    for part in (str(value.day), str(value.month), str(value.year)):
        page.keyboard.press("Control+A")
        page.keyboard.type(part)
        page.keyboard.press("Tab")


def _agency_journey(rig: Rig, page: Page, browser: Browser, base: str, csp: list[str]) -> None:
    placement = placement_for_invoices()
    agency, child = placement.provider, placement.service_user
    admin = UserFactory(council_role=User.CouncilRole.PORTAL_ADMINISTRATOR)
    provider_portal_access_set(provider=agency, enabled=True, by=admin)
    user = MembershipFactory(provider=agency, user__email="placements@agency.example.org").user

    # 1. The invoices page, then the wizard, by keyboard only ------------------------------------------
    sign_in(page, base, user)
    page.get_by_role("link", name="Invoices", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
    assert_accessible(page)
    page.get_by_role("button", name="Raise an invoice").focus()  # a link styled as a button
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Which child is the invoice for?")
    assert_accessible(page)
    radio = page.get_by_label(
        re.compile(re.escape(f"{child.name} ({child.ref}): {placement.service_type.name}"))
    )
    radio.first.focus()
    page.keyboard.press("Space")
    expect(radio.first).to_be_checked()
    page.get_by_role("button", name="Continue").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("What period is the invoice for?")
    assert_accessible(page)
    # A period that has not ended yet is refused, with what was typed kept.
    _keyboard_date(page, "Start of the period", dt.date(2026, 11, 1))
    _keyboard_date(page, "End of the period", dt.date(2026, 12, 31))
    expect(page.get_by_role("button", name="Continue")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "The period must end today or earlier: invoice for care already given"
    )
    assert page.title().startswith("Error: ")
    expect(
        page.get_by_role("group", name=re.compile("^End of the period")).get_by_label("Month")
    ).to_have_value("12")
    assert_accessible(page)
    _keyboard_date(page, "End of the period", dt.date(2026, 11, 30))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("What is your invoice number?")
    assert_accessible(page)
    page.get_by_label("Your invoice number").focus()
    page.keyboard.type("AG/2026/11-001")
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("What are you invoicing for?")
    assert_accessible(page)
    # Suggested: the placement for the whole of November, 30 days = 4.29 weeks.
    expect(page.get_by_label("Description")).to_have_value(
        f"{placement.service_type.name}, 1 November 2026 to 30 November 2026"
    )
    expect(page.get_by_label("Quantity")).to_have_value("4.29")
    page.get_by_label("Quantity").focus()
    page.keyboard.press("Enter")  # the first button, Continue, adds the line and goes on

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending the invoice")
    amount = (D("4.29") * placement.rate).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    expect(page.get_by_test_id("invoice-total")).to_have_text(money(amount))
    expect(page.get_by_role("link", name=re.compile(r"^Change\s+your invoice number"))).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Send the invoice").focus()
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice AG/2026/11-001")
    invoice = Invoice.objects.get(provider=agency, provider_invoice_number="AG/2026/11-001")
    expect(page.get_by_role("alert")).to_contain_text("sent to the council")
    expect(page.get_by_test_id("invoice-status")).to_contain_text("Sent to the council")
    assert_accessible(page)

    # 2. The worker sends it; the back office accepts it; the portal pulls the decision ----------------------
    wait_until(lambda: delivered("invoice", 1), seconds=90, what="the invoice to be delivered")
    entry = ledger_entry(rig, "invoices", invoice.portal_ref)
    assert (entry["recorded"], entry["status"]) == (1, "accepted"), entry
    pull_decisions()
    page.reload()
    expect(page.get_by_test_id("invoice-status")).to_contain_text("Accepted")
    expect(page.get_by_test_id("rejection-reason")).to_have_count(0)
    assert_accessible(page)

    # 3. October's invoice, forced to a rejection before it is sent -------------------------------------
    page.goto(f"{base}/invoices/new/?line={placement.ref}")
    expect(page.get_by_label(re.compile(re.escape(f"{child.name} ({child.ref})"))).first).to_be_checked()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("group", name=re.compile("^Start of the period")).get_by_label("Day").fill("1")
    page.get_by_role("group", name=re.compile("^Start of the period")).get_by_label("Month").fill("10")
    page.get_by_role("group", name=re.compile("^Start of the period")).get_by_label("Year").fill("2026")
    page.get_by_role("group", name=re.compile("^End of the period")).get_by_label("Day").fill("31")
    page.get_by_role("group", name=re.compile("^End of the period")).get_by_label("Month").fill("10")
    page.get_by_role("group", name=re.compile("^End of the period")).get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Continue").click()
    # The number already used for November is refused.
    page.get_by_label("Your invoice number").fill("ag/2026/11-001")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "You have already used invoice number AG/2026/11-001"
    )
    assert_accessible(page)
    page.get_by_label("Your invoice number").fill("AG/2026/10-001")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending the invoice")
    portal_ref = (
        page.locator(".govuk-summary-list__row", has_text="Portal reference").locator("dd").first.inner_text()
    )
    assert re.fullmatch(r"INV-[0-9A-F]{12}", portal_ref.strip()), portal_ref
    reason = "The placement is under review by the Total Placement Service."
    rig.backoffice.sim(
        "POST",
        "decisions",
        {"kind": "invoice", "portal_ref": portal_ref.strip(), "decision": "reject", "reason": reason},
    )
    page.get_by_role("button", name="Send the invoice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice AG/2026/10-001")
    wait_until(lambda: delivered("invoice", 2), seconds=90, what="the second invoice to be delivered")
    pull_decisions()
    page.reload()
    expect(page.get_by_test_id("invoice-status")).to_contain_text("Rejected")
    expect(page.get_by_test_id("rejection-reason")).to_contain_text(reason)
    assert_accessible(page)

    # 4. Information about the child: the placement and both invoices --------------------------------------
    page.get_by_role("link", name=f"See everything about {child.name}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(child.name)
    expect(page.get_by_test_id("placement").first).to_contain_text(placement.ref)
    invoices = page.get_by_test_id("child-invoices")
    expect(invoices.get_by_role("row").filter(has_text="AG/2026/11-001")).to_contain_text("Accepted")
    expect(invoices.get_by_role("row").filter(has_text="AG/2026/10-001")).to_contain_text(reason)
    assert_accessible(page)
    page.get_by_role("link", name="Children", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Children placed with you")
    expect(page.get_by_test_id("child-row").filter(has_text=child.name)).to_be_visible()
    assert_accessible(page)

    # 5. A finance officer sees them on the council's pages -------------------------------------------------
    finance = UserFactory(
        email="childrens.finance@example.org", council_role=User.CouncilRole.FINANCE_OFFICER
    )
    staff_context = browser.new_context()
    watch_csp(staff_context, csp)
    staff = staff_context.new_page()
    sign_in(staff, base, finance)
    staff.get_by_role("link", name="Invoices", exact=True).click()
    expect(staff.get_by_test_id("invoice-row")).to_have_count(2)
    assert_accessible(staff)
    staff.get_by_role("link", name="AG/2026/10-001").click()
    expect(staff.get_by_test_id("rejection-reason")).to_contain_text(reason)
    expect(staff.get_by_text(agency.name).first).to_be_visible()
    assert_accessible(staff)
    staff_context.close()
    assert csp == []


def foster_carer() -> tuple[Provider, CarePackageLine]:
    placements = CarePackageLine.objects.filter(
        provider__kind=Provider.Kind.FOSTER_CARER, provider__active=True, service_type__code="FOSTER"
    ).select_related("provider", "service_user")
    placement = min(placements, key=lambda line: line.ref)
    return placement.provider, placement


def test_a_foster_carer_claims_an_expense_with_a_receipt(
    rig: Rig, page: Page, live_server, csp_violations: list[str], tmp_path: Path, settings
) -> None:
    settings.VAR_DIR = tmp_path / "var"  # the live server runs in this process: receipts land here
    try:
        _carer_journey(rig, page, live_server.url, csp_violations, tmp_path)
    except BaseException:
        print(rig.logs())
        raise


def _carer_journey(rig: Rig, page: Page, base: str, csp: list[str], tmp_path: Path) -> None:
    carer, placement = foster_carer()
    child = placement.service_user
    admin = UserFactory(council_role=User.CouncilRole.PORTAL_ADMINISTRATOR)
    provider_portal_access_set(provider=carer, enabled=True, by=admin)
    user = MembershipFactory(provider=carer, user__email="carer@example.org").user
    not_a_receipt = tmp_path / "receipt.pdf"
    not_a_receipt.write_bytes(EXE)
    photo = tmp_path / "Booster seat receipt.png"
    photo.write_bytes(PNG)

    sign_in(page, base, user)
    page.get_by_role("link", name="Expense claims", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Expense claims")
    assert_accessible(page)
    page.get_by_role("button", name="Claim an expense").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Claim an expense")
    assert_accessible(page)

    page.get_by_label("Equipment").focus()
    page.keyboard.press("Space")
    group = page.get_by_role("group", name=re.compile("^Date of the expense"))
    group.get_by_label("Day").fill("1")
    group.get_by_label("Month").fill("12")
    group.get_by_label("Year").fill("2026")
    page.get_by_label("Amount, in pounds").fill("42.99")
    page.get_by_label("Description").fill("A booster seat for the car")
    page.get_by_label("Which child is it for? (optional)").select_option(label=f"{child.name} ({child.ref})")
    page.get_by_label("Receipt", exact=True).set_input_files(str(not_a_receipt))
    page.get_by_role("button", name="Send the claim").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "The receipt must be a PDF or a photo or scan (PNG, JPEG or GIF): this file is not one, whatever its name says"
    )
    expect(page.get_by_label("Amount, in pounds")).to_have_value("42.99")  # nothing typed is lost
    assert not ExpenseClaim.objects.exists()
    assert_accessible(page)

    page.get_by_label("Receipt", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="Send the claim").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Equipment, 1 December 2026")
    expect(page.get_by_role("alert")).to_contain_text("Expense claim for £42.99 sent to the council")
    expect(page.get_by_test_id("claim-status")).to_contain_text("Sent to the council")
    assert_accessible(page)
    claim = ExpenseClaim.objects.get(provider=carer)

    wait_until(lambda: delivered("expense_claim", 1), seconds=90, what="the claim to be delivered")
    entry = ledger_entry(rig, "expense_claims", claim.portal_ref)
    assert (entry["recorded"], entry["status"]) == (1, "accepted"), entry
    pull_decisions()
    page.reload()
    expect(page.get_by_test_id("claim-status")).to_contain_text("Accepted")
    with page.expect_download() as download:
        page.get_by_test_id("receipt").click()
    assert download.value.suggested_filename == "Booster seat receipt.png"
    assert Path(download.value.path()).read_bytes() == PNG

    page.get_by_role("link", name="Children", exact=True).click()
    page.get_by_role("link", name=child.name).first.click()
    expect(page.get_by_test_id("child-claims")).to_contain_text("Equipment")
    expect(page.get_by_test_id("child-claims")).to_contain_text("Accepted")
    assert_accessible(page)
    assert csp == []
