"""The provider's pages of the weekly cycle through Django's test client: generate, amend inline (htmx)
and with the plain form, two people editing one line, acknowledge, confirm, nil return, correct, the
scheduled payments page and the checklist on the home page."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from actuals.models import ActualLine, ProviderWeek
from actuals.services import actuals_generate
from contrOCC_sync.models import OutboxMessage
from portal.providers.models import Provider
from tests.actuals.conftest import AGENCY, service_type
from tests.conftest import Council, client_for
from tests.factories import CarePackageLineFactory, MembershipFactory, ProviderFactory

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 11, 16)
AFTER_THE_WEEK = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # Monday, before the deadline
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _monday_after_the_week():
    with time_machine.travel(AFTER_THE_WEEK, tick=False):
        yield


def declare(client: Client, *, follow: bool = False) -> Any:
    """Tick the declaration on the confirmation page as drawn (it carries the lines' fingerprint)."""
    page = client.get(week_url("actuals_confirm")).content.decode()
    found = re.search(r'name="seen" value="([^"]*)"', page)
    seen = found.group(1) if found else ""
    return client.post(week_url("actuals_confirm"), {"declaration": "on", "seen": seen}, follow=follow)


def week_url(name: str = "actuals_week", **kwargs) -> str:
    return reverse(name, kwargs={"week": WEEK, **kwargs})


def generated(council: Council) -> ActualLine:
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
    return ActualLine.objects.get(provider=council.provider_a, week__week_start=WEEK)


def amend_data(line: ActualLine, **values: str) -> dict[str, str]:
    data = {
        "delivered": str(line.delivered),
        "frustrated": "0",
        "missed": "0",
        "extra": "0",
        "adjustment_form_ref": "",
        "comment": "",
        "revision": str(line.revision),
    }
    return data | values


def test_generating_from_the_week_page(provider_a_client: Client, council: Council) -> None:
    page = provider_a_client.get(week_url()).content.decode()
    assert "Generate actuals" in page

    response = provider_a_client.post(week_url("actuals_generate"), follow=True)
    page = response.content.decode()
    assert "1 line generated from your care package lines" in page
    assert council.line_a.service_user.name in page
    assert council.line_b.service_user.name not in page  # provider B's person is never on A's week


def test_inline_amend_answers_rows_and_the_saved_values_stick(
    provider_a_client: Client, council: Council
) -> None:
    line = generated(council)
    edit_row = provider_a_client.get(week_url("actual_line", pk=line.pk), **HTMX).content.decode()
    assert 'data-testid="actual-line-editing"' in edit_row
    assert f'form="line-form-{line.pk}"' in edit_row

    saved = provider_a_client.post(
        week_url("actual_line", pk=line.pk),
        amend_data(line, delivered="9.25", comment="Two visits cut short"),
        **HTMX,
    ).content.decode()
    assert 'data-testid="actual-line"' in saved and ">9.25<" in saved
    assert "Must fix" not in saved
    assert 'id="week-counts" hx-swap-oob="true"' in saved  # the week's counts follow the save
    assert 'data-testid="week-total">£216.45<' in saved and 'data-testid="variance-count">1<' in saved
    line.refresh_from_db()
    assert (line.delivered, line.comment, line.amended) == (Decimal("9.25"), "Two visits cut short", True)
    assert line.amount == Decimal("216.45")  # 9.25 × £23.40

    cancelled = provider_a_client.get(week_url("actual_line", pk=line.pk) + "?display=1", **HTMX)
    assert 'data-testid="actual-line"' in cancelled.content.decode()


def test_an_off_step_quantity_is_kept_and_shown_as_an_exception(
    provider_a_client: Client, council: Council
) -> None:
    line = generated(council)
    response = provider_a_client.post(
        week_url("actual_line", pk=line.pk),
        amend_data(line, delivered="3.1", comment="Short week"),
        follow=True,
    )
    page = response.content.decode()
    assert "Must fix" in page and "3.1 is not" in page
    line.refresh_from_db()
    assert line.delivered == Decimal("3.10")  # nothing the provider typed is thrown away


def test_a_number_that_is_not_a_number_keeps_what_was_typed(
    provider_a_client: Client, council: Council
) -> None:
    line = generated(council)
    response = provider_a_client.post(
        week_url("actual_line", pk=line.pk), amend_data(line, delivered="seven", comment="x")
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: " in page
    assert "Delivered must be a number, like 7.25" in page
    assert 'value="seven"' in page
    line.refresh_from_db()
    assert line.delivered == line.planned


def test_the_second_of_two_people_editing_a_line_is_told_and_loses_nothing(council: Council) -> None:
    line = generated(council)
    colleague = MembershipFactory(provider=council.provider_a, user__full_name="Priya Patel").user
    first, second = client_for(colleague), client_for(council.users["provider_a"])
    start = amend_data(line)  # both opened the line at the same revision

    first.post(week_url("actual_line", pk=line.pk), start | {"delivered": "8", "comment": "Hospital"})
    response = second.post(week_url("actual_line", pk=line.pk), start | {"delivered": "6", "comment": "Mine"})

    page = response.content.decode()
    assert "Priya Patel changed this line while you were editing it" in page
    assert 'value="6"' in page and "Mine" in page  # the second person's input is still in the form
    line.refresh_from_db()
    assert (line.delivered, line.comment) == (Decimal("8.00"), "Hospital")  # the first person's save stands
    revision = response.context["form"]["revision"].value()
    resubmitted = second.post(
        week_url("actual_line", pk=line.pk),
        start | {"delivered": "6", "comment": "Mine", "revision": revision},
    )
    assert resubmitted.status_code == 302
    line.refresh_from_db()
    assert line.delivered == Decimal("6.00")


def test_acknowledge_confirm_and_the_scheduled_payments_page(
    provider_a_client: Client, council: Council
) -> None:
    line = generated(council)
    provider_a_client.post(
        week_url("actual_line", pk=line.pk),
        amend_data(line, delivered="2", frustrated="8.5", comment="In hospital from Tuesday"),
    )
    confirm_page = provider_a_client.get(week_url("actuals_confirm")).content.decode()
    assert "You cannot confirm yet" in confirm_page and "1 needs a reason" in confirm_page

    ack_url = week_url("actual_exception_acknowledge", pk=line.pk, rule="ACT-13")
    empty = provider_a_client.post(ack_url, {"reason": "  "})
    assert "Enter the reason the line is right as it is" in empty.content.decode()
    provider_a_client.post(ack_url, {"reason": "Admitted to hospital, the council was told"})

    refused = provider_a_client.post(week_url("actuals_confirm"), {})
    assert "Confirm that all payments and amendments are correct" in refused.content.decode()
    assert not ProviderWeek.objects.get(week_start=WEEK).is_confirmed

    response = declare(provider_a_client, follow=True)
    page = response.content.decode()
    assert "confirmed. 0 lines sent to the council, 1 held for the council&#x27;s review" in page
    assert "Scheduled payments" in page and "Held for review" in page
    line.refresh_from_db()
    assert line.status == ActualLine.Status.HELD
    assert not OutboxMessage.objects.exists()  # held lines wait for finance


def test_confirming_sends_the_clean_lines_and_the_week_page_locks(
    provider_a_client: Client, council: Council
) -> None:
    line = generated(council)
    declare(provider_a_client)
    line.refresh_from_db()
    assert line.status == ActualLine.Status.SENT
    message = OutboxMessage.objects.get()
    assert message.body["lines"][0]["portal_line_id"] == line.pk

    page = provider_a_client.get(week_url()).content.decode()
    assert "Review and confirm" not in page and "Generate again" not in page
    assert "Correct<span" in page
    again = declare(provider_a_client)
    assert "already been confirmed" in again.content.decode()


def test_correcting_a_confirmed_line_once(provider_a_client: Client, council: Council) -> None:
    line = generated(council)
    declare(provider_a_client)
    url = week_url("actual_line_correct", pk=line.pk)
    line.refresh_from_db()
    no_reason = provider_a_client.post(url, amend_data(line, delivered="9", comment="One visit missed"))
    assert "Enter the reason for the correction" in no_reason.content.decode()

    provider_a_client.post(
        url, amend_data(line, delivered="9", comment="One visit missed", reason="Entered the wrong total")
    )
    line.refresh_from_db()
    assert (line.version, line.delivered, line.status) == (2, Decimal("9.00"), ActualLine.Status.SENT)
    assert OutboxMessage.objects.count() == 2

    twice = provider_a_client.get(url, follow=True)
    assert "already been corrected once" in twice.content.decode()


def test_a_nil_return_from_its_page(provider_a_client: Client, council: Council) -> None:
    response = provider_a_client.post(week_url("actuals_nil_return"), {"declaration": "on"}, follow=True)
    assert "confirmed as no service" in response.content.decode()
    line = ActualLine.objects.get(provider=council.provider_a)
    assert (line.delivered, line.no_service, line.amount) == (Decimal("0"), True, Decimal("0.00"))
    assert ProviderWeek.objects.get(provider=council.provider_a).nil_return


def test_the_home_page_is_the_checklist_for_the_week_due(provider_a_client: Client, council: Council) -> None:
    page = provider_a_client.get(reverse("home")).content.decode()
    assert "Week of 16 Nov 2026" in page  # Monday before 17:00: last week is the week due
    assert "5pm on Tuesday 24 November 2026" in page and "1 day 7 hours left" in page
    assert "Generate actuals" in page and "Cannot start yet" in page

    generated(council)
    page = provider_a_client.get(reverse("home")).content.decode()
    assert "1 line generated." in page and "0 must be fixed, 0 need a reason." in page


def test_another_providers_line_is_not_found(provider_b_client: Client, council: Council) -> None:
    line = generated(council)
    CarePackageLineFactory(provider=council.provider_b)
    for name in ("actual_line", "actual_line_correct"):
        assert provider_b_client.get(week_url(name, pk=line.pk)).status_code == 404
    response = provider_b_client.post(week_url("actual_line", pk=line.pk), amend_data(line, delivered="1"))
    assert response.status_code == 404
    line.refresh_from_db()
    assert line.delivered == line.planned


def test_a_week_that_is_not_a_monday_is_not_a_page(provider_a_client: Client) -> None:
    assert provider_a_client.get("/actuals/2026-11-17/").status_code == 404
    assert provider_a_client.get("/actuals/2026-02-30/").status_code == 404


def test_what_a_provider_types_is_shown_as_text(provider_a_client: Client, council: Council) -> None:
    line = generated(council)
    council.line_a.service_user.name = 'Alice <img src=x onerror="alert(1)">'
    council.line_a.service_user.save()
    provider_a_client.post(
        week_url("actual_line", pk=line.pk),
        amend_data(line, delivered="9", comment="<script>alert('x')</script> & more"),
    )
    page = provider_a_client.get(week_url()).content.decode()
    assert (
        "<script>alert" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; more" in page
    )
    assert "<img src=x" not in page and "Alice &lt;img src=x" in page


def test_a_declaration_covers_the_lines_as_the_page_showed_them(
    provider_a_client: Client, council: Council
) -> None:
    """A colleague amends a line after the confirmation page was drawn: the declaration is refused (the
    provider would otherwise confirm figures they never saw), and the page shows the figures as they are."""
    line = generated(council)
    page = provider_a_client.get(week_url("actuals_confirm")).content.decode()
    seen = re.search(r'name="seen" value="([^"]*)"', page).group(1)  # type: ignore[union-attr]
    colleague = client_for(council.users["provider_a"])
    colleague.post(
        week_url("actual_line", pk=line.pk), amend_data(line, delivered="9.5", comment="One visit short")
    )

    refused = provider_a_client.post(week_url("actuals_confirm"), {"declaration": "on", "seen": seen})
    assert "The week&#x27;s lines changed after you opened this page" in refused.content.decode()
    assert not ProviderWeek.objects.get(week_start=WEEK).is_confirmed
    assert declare(provider_a_client).status_code == 302


def test_a_line_added_after_the_confirmation_is_confirmed_on_its_own(
    provider_a_client: Client, council: Council
) -> None:
    line = generated(council)
    declare(provider_a_client)
    late = CarePackageLineFactory(provider=council.provider_a)
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)

    page = provider_a_client.get(week_url("actuals_confirm")).content.decode()
    assert "The council has since added 1 care package line to it" in page
    assert declare(provider_a_client).status_code == 302
    added = ActualLine.objects.get(care_package_line=late)
    assert added.status == ActualLine.Status.SENT
    line.refresh_from_db()
    assert line.version == 1 and line.status == ActualLine.Status.SENT
    assert "This week was confirmed on" in provider_a_client.get(week_url("actuals_confirm")).content.decode()


def _figure(page: str, testid: str) -> str:
    found = re.findall(rf'data-testid="{testid}">(?:<strong>)?([^<]*)<', page)
    assert len(found) == 1, found
    return found[0]


def test_the_total_to_be_paid_leaves_out_held_and_paid_lines(
    provider_a_client: Client, council: Council
) -> None:
    """After confirming, one line is held for review and one is paid: the total to be paid on the
    scheduled payments, confirmation and week pages is the sent line's alone, the others shown apart."""
    held_cpl = CarePackageLineFactory(provider=council.provider_a, rate=Decimal("30.00"))
    paid_cpl = CarePackageLineFactory(provider=council.provider_a, rate=Decimal("10.00"))
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
    held = ActualLine.objects.get(care_package_line=held_cpl)
    provider_a_client.post(
        week_url("actual_line", pk=held.pk),
        amend_data(held, delivered="2", frustrated="8.5", comment="In hospital from Tuesday"),
    )
    provider_a_client.post(
        week_url("actual_exception_acknowledge", pk=held.pk, rule="ACT-13"), {"reason": "Ward confirmed it"}
    )
    declare(provider_a_client)
    ActualLine.objects.filter(care_package_line=paid_cpl).update(status=ActualLine.Status.PAID)
    statuses = dict(ActualLine.objects.values_list("care_package_line", "status"))
    assert statuses == {council.line_a.pk: "sent", held_cpl.pk: "held", paid_cpl.pk: "paid"}

    for url in (reverse("scheduled_payments"), week_url("actuals_confirm")):
        page = provider_a_client.get(url).content.decode()
        assert _figure(page, "total-to-pay") == "£245.70", url  # line A, sent; not £665.70
        assert _figure(page, "lines-to-pay") == "1", url
        held_row = re.search(r'data-testid="not-to-pay-held">(.*?)</tr>', page).group(1)  # type: ignore[union-attr]
        assert "Held for review" in held_row and "£315.00" in held_row, url
        paid_row = re.search(r'data-testid="not-to-pay-paid">(.*?)</tr>', page).group(1)  # type: ignore[union-attr]
        assert "Paid" in paid_row and "£105.00" in paid_row, url
    assert _figure(provider_a_client.get(week_url()).content.decode(), "week-total") == "£245.70"


def test_a_provider_paid_on_invoice_is_not_asked_to_confirm_actuals(council: Council) -> None:
    """A fostering agency whose care is all paid on invoice: no checklist for the week due and no earlier
    week left open, on its home page or its scheduled payments."""
    agency = ProviderFactory(name="Pennine Fostering Agency", kind=Provider.Kind.CHILDREN)
    CarePackageLineFactory(provider=agency, service_type=service_type(AGENCY))
    client = client_for(MembershipFactory(provider=agency).user)

    home = client.get(reverse("home")).content.decode()
    assert 'data-testid="nothing-to-record"' in home
    assert "Generate actuals" not in home and 'data-testid="open-weeks"' not in home
    payments = client.get(reverse("scheduled_payments")).content.decode()
    assert 'data-testid="no-weeks"' in payments and 'data-testid="payment-week"' not in payments

    CarePackageLineFactory(provider=agency)  # and now some care paid through actuals
    home = client.get(reverse("home")).content.decode()
    assert "Generate actuals" in home and 'data-testid="open-weeks"' in home


def test_scheduled_payments_show_the_next_payment_run(provider_a_client: Client, council: Council) -> None:
    """The next payment run's date and what it pays so far, from the portal's copy of the back office's
    payment schedule: the actual lines by week, and the rest by kind."""
    from portal import clock
    from remittances.models import PaymentSchedule

    line = generated(council)
    other_provider = actuals_generate(provider=council.provider_b, week_start=WEEK, by=None).week.lines.get()
    PaymentSchedule.objects.create(
        provider=council.provider_a,
        next_run_on=dt.date(2026, 11, 26),
        total=Decimal("270.70"),
        copied_at=clock.now(),
        items=[
            {
                "kind": "actual_line",
                "portal_ref": None,
                "portal_line_id": line.pk,
                "version": 1,
                "amount": "245.70",
            },
            {
                "kind": "adjustment",
                "portal_ref": "ADJ-1",
                "portal_line_id": None,
                "version": None,
                "amount": "25.00",
            },
            {"kind": "actual_line", "portal_line_id": other_provider.pk, "version": 1, "amount": "1.00"},
        ],
    )
    page = provider_a_client.get(reverse("scheduled_payments")).content.decode()
    assert "Next payment: Thursday 26 November 2026" in page
    assert 'data-testid="next-payment-total">£270.70<' in page
    assert "Week of 16 Nov 2026</a></th>" in page and "£245.70" in page
    assert "Payment adjustment" in page and "£25.00" in page
    # a line the portal cannot place in one of the provider's weeks is counted, never linked
    table = page.split('data-testid="next-payment"')[1].split("</table>")[0]
    assert table.count("<a ") == 1 and ">Actuals</th>" in table
