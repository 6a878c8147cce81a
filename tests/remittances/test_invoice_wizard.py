"""The invoice wizard, page by page through the views (no JavaScript): child and placement → period →
invoice number → lines → check your answers → send. Every bad answer is a message on its page, keeps what
was typed and sends nothing; another provider's placement, draft or invoice is a 404."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.urls import reverse

from contrOCC_sync.models import OutboxMessage
from portal.audit.models import AuditEvent
from portal.providers.models import CarePackageLine, Provider, ServiceUser
from remittances.models_invoices import Invoice, InvoiceDraft, InvoiceLine, SubmissionStatus
from tests.conftest import client_for
from tests.factories import MembershipFactory
from tests.remittances.conftest import AGENCY_TYPE, Children, line

pytestmark = pytest.mark.django_db
D = Decimal
MARCH = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def date_fields(name: str, value: dt.date | None) -> dict[str, str]:
    if value is None:
        return {f"{name}_day": "", f"{name}_month": "", f"{name}_year": ""}
    return {f"{name}_day": str(value.day), f"{name}_month": str(value.month), f"{name}_year": str(value.year)}


def period_data(start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    return date_fields("period_start", start) | date_fields("period_end", end)


def draft_url(name: str, draft: InvoiceDraft) -> str:
    return reverse(name, kwargs={"draft": draft.pk})


def start(client: Client, placement: CarePackageLine) -> InvoiceDraft:
    response = client.post(reverse("invoice_new"), {"line": placement.ref})
    assert response.status_code == 302, response.content.decode()[:3000]
    draft = InvoiceDraft.objects.get(care_package_line=placement)
    assert response["Location"] == draft_url("invoice_draft_period", draft)
    return draft


def walk(
    client: Client,
    placement: CarePackageLine,
    *,
    period: tuple[dt.date, dt.date] = MARCH,
    number: str = "BW-2026-03",
    lines: list[tuple[str, str]] | None = None,
) -> InvoiceDraft:
    """Answer every question with good answers; the draft, ready to send."""
    draft = start(client, placement)
    assert client.post(draft_url("invoice_draft_period", draft), period_data(*period)).status_code == 302
    assert client.post(draft_url("invoice_draft_number", draft), {"number": number}).status_code == 302
    for description, quantity in [("Agency placement, March 2026", "4.43")] if lines is None else lines:
        response = client.post(
            draft_url("invoice_draft_lines", draft),
            {"description": description, "quantity": quantity, "action": "add"},
        )
        assert response.status_code == 302, errors(response)
    draft.refresh_from_db()
    return draft


def errors(response: Any) -> list[str]:
    """The messages of the page's error summary."""
    page = response.content.decode()
    summary = re.search(r'<div class="govuk-error-summary".*?</ul>', page, re.S)
    return (
        [
            html.unescape(re.sub(r"<[^>]+>", "", item)).strip()
            for item in re.findall(r"<li>(.*?)</li>", summary.group(0), re.S)
        ]
        if summary
        else []
    )


def make_invoice(
    provider: Provider,
    child: ServiceUser,
    placement: CarePackageLine,
    *,
    period: tuple[dt.date, dt.date],
    number: str,
    status: str = SubmissionStatus.SENT,
    by: Any = None,
) -> Invoice:
    from portal import clock

    user = by or MembershipFactory(provider=provider).user
    return Invoice.objects.create(
        portal_ref=f"INV-TEST-{uuid.uuid4().hex[:8]}",
        provider=provider,
        service_user=child,
        care_package_line=placement,
        period_start=period[0],
        period_end=period[1],
        provider_invoice_number=number,
        total=D("100.00"),
        status=status,
        submitted_by=user,
        submitted_at=clock.now(),
    )


# The journey --------------------------------------------------------------------------------------


def test_an_agency_raises_an_invoice_page_by_page_and_it_goes_to_the_outbox(kids: Children) -> None:
    client = kids.client("agency_user")

    page = client.get(reverse("invoice_new"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Amira Khan" in text and kids.placement.ref in text
    assert "Tyrone Campbell" not in text and "Poppy Walker" not in text  # another agency's, a carer's

    draft = start(client, kids.placement)
    page = client.get(draft_url("invoice_draft_period", draft))
    assert page.status_code == 200
    assert "The placement started on 10 November 2025" in page.content.decode()
    response = client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))
    assert response["Location"] == draft_url("invoice_draft_number", draft)
    response = client.post(draft_url("invoice_draft_number", draft), {"number": "  BW-2026-03 "})
    assert response["Location"] == draft_url("invoice_draft_lines", draft)

    page = client.get(draft_url("invoice_draft_lines", draft))
    form = page.context["form"]
    assert form.initial == {
        "description": "Agency placement, 1 March 2026 to 31 March 2026",
        "quantity": "4.43",
    }
    assert "£964.78 a week" in page.content.decode()
    response = client.post(
        draft_url("invoice_draft_lines", draft),
        {
            "description": "Agency placement, 1 March 2026 to 31 March 2026",
            "quantity": "4.43",
            "action": "continue",
        },
    )
    assert response["Location"] == draft_url("invoice_draft_check", draft)

    check = client.get(draft_url("invoice_draft_check", draft))
    assert check.status_code == 200
    text = check.content.decode()
    for step in (
        "invoice_draft_placement",
        "invoice_draft_period",
        "invoice_draft_number",
        "invoice_draft_lines",
    ):
        assert f'href="{draft_url(step, draft)}"' in text  # a Change link for every answer
    assert check.context["total"] == D("4273.98")  # 4.43 × £964.78 = £4,273.9754, half up
    assert "£4,273.98" in text and "BW-2026-03" in text
    assert errors(check) == []
    portal_ref = f"INV-{draft.pk.hex[:12].upper()}"  # fixed with the draft, shown before it is sent
    assert portal_ref in text

    response = client.post(draft_url("invoice_draft_check", draft))
    invoice = Invoice.objects.get()
    assert response["Location"] == reverse("invoice", kwargs={"pk": invoice.pk})
    assert invoice.portal_ref == portal_ref
    assert (invoice.provider, invoice.service_user, invoice.care_package_line) == (
        kids.agency,
        kids.child,
        kids.placement,
    )
    assert (invoice.period_start, invoice.period_end) == MARCH
    assert (invoice.provider_invoice_number, invoice.total, invoice.status) == (
        "BW-2026-03",
        D("4273.98"),
        SubmissionStatus.SENT,
    )
    assert [(x.description, x.quantity, x.rate, x.amount) for x in invoice.lines.all()] == [
        ("Agency placement, 1 March 2026 to 31 March 2026", D("4.43"), D("964.78"), D("4273.98"))
    ]
    assert not InvoiceDraft.objects.exists()

    message = OutboxMessage.objects.get()
    assert (message.kind, message.provider, message.state) == ("invoice", kids.agency, "pending")
    assert message.body == {
        "portal_ref": invoice.portal_ref,
        "provider_ref": kids.agency.ref,
        "service_user_ref": kids.child.ref,
        "care_package_line_ref": kids.placement.ref,
        "period_start": "2026-03-01",
        "period_end": "2026-03-31",
        "lines": [
            {
                "description": "Agency placement, 1 March 2026 to 31 March 2026",
                "quantity": "4.43",
                "rate": "964.78",
                "amount": "4273.98",
            }
        ],
        "provider_invoice_number": "BW-2026-03",
    }
    event = AuditEvent.objects.get(action="remittances.invoice.submitted")
    assert (event.actor, event.provider, event.data["total"]) == (kids.agency_user, kids.agency, "4273.98")

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Sent to the council" in page.content.decode()
    assert "sent to the council" in page.content.decode()  # the success banner
    listing = client.get(reverse("invoices"))
    assert "BW-2026-03" in listing.content.decode()


def test_each_line_is_rounded_half_up_once_and_the_total_is_the_sum_of_the_lines(kids: Children) -> None:
    placement = line(kids.agency, kids.child, AGENCY_TYPE, rate=D("10.25"), start_date=dt.date(2026, 1, 5))
    client = kids.client("agency_user")
    draft = walk(client, placement, lines=[("First half", "0.5"), ("Second half", "0.5")])
    client.post(draft_url("invoice_draft_check", draft))
    invoice = Invoice.objects.get()
    # 0.5 × £10.25 = £5.125: half up is £5.13 a line (banker's rounding would give £5.12), and the total
    # is the lines' sum, £10.26, not the rounded £10.25 of the whole.
    assert [x.amount for x in invoice.lines.all()] == [D("5.13"), D("5.13")]
    assert invoice.total == D("10.26")
    assert [x["amount"] for x in OutboxMessage.objects.get().body["lines"]] == ["5.13", "5.13"]


def test_a_change_link_goes_back_to_the_check_page_once_answered(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement)
    response = client.post(draft_url("invoice_draft_number", draft), {"number": "BW-2026-03A"})
    assert response["Location"] == draft_url("invoice_draft_check", draft)
    draft.refresh_from_db()
    assert draft.provider_invoice_number == "BW-2026-03A"


def test_a_line_can_be_removed_and_continuing_with_none_says_so(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement, lines=[("One", "1"), ("Two", "2")])
    response = client.post(draft_url("invoice_draft_lines", draft), {"remove": "0"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.lines == [{"description": "Two", "quantity": "2"}]
    client.post(draft_url("invoice_draft_lines", draft), {"remove": "0"})
    response = client.post(
        draft_url("invoice_draft_lines", draft), {"description": "", "quantity": "", "action": "continue"}
    )
    assert response.status_code == 200
    assert errors(response) == ["Add at least one line to the invoice"]
    check = client.get(draft_url("invoice_draft_check", draft))
    assert "Add at least one line to the invoice" in errors(check)
    assert check.context["problems"][0][1] == draft_url("invoice_draft_lines", draft)


# Bad answers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            period_data(dt.date(2026, 3, 31), dt.date(2026, 3, 1)),
            "The end of the period must be the same as or after its start",
        ),
        (
            period_data(dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
            "The period must start on or after 10 November 2025, when the placement started",
        ),
        (
            period_data(dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
            "The period must end today or earlier: invoice for care already given",
        ),
        (period_data(None, dt.date(2026, 3, 31)), "Enter the start of the period"),
        (
            period_data(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
            | {"period_start_day": "30", "period_start_month": "2"},
            "The start of the period must be a real date",
        ),
    ],
)
def test_a_bad_period_is_refused_on_its_page_and_what_was_typed_is_kept(
    kids: Children, data: dict[str, str], message: str
) -> None:
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    response = client.post(draft_url("invoice_draft_period", draft), data)
    assert response.status_code == 200
    assert errors(response) == [message]
    page = response.content.decode()
    assert page.split("</title>")[0].split("<title>")[1].startswith("Error: ")
    assert f'value="{data["period_end_year"]}"' in page and f'value="{data["period_end_day"]}"' in page
    draft.refresh_from_db()
    assert (draft.period_start, draft.period_end) == (None, None)


def test_a_period_after_the_placement_ended_is_refused(kids: Children) -> None:
    CarePackageLine.objects.filter(pk=kids.placement.pk).update(end_date=dt.date(2026, 3, 15))
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    response = client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))
    assert errors(response) == ["The period must end on or before 15 March 2026, when the placement ended"]


def test_a_period_overlapping_an_earlier_invoice_for_the_child_is_refused_unless_that_was_rejected(
    kids: Children,
) -> None:
    earlier = make_invoice(
        kids.agency,
        kids.child,
        kids.placement,
        period=(dt.date(2026, 2, 1), dt.date(2026, 3, 7)),
        number="BW-02",
    )
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    response = client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))
    assert errors(response) == [
        "The period overlaps your invoice BW-02 for Amira Khan, for 1 February 2026 to 7 March 2026. Choose a "
        "period no earlier invoice covers"
    ]
    # Another child's invoice, or another agency's for this child, is no obstacle; a rejected one neither.
    earlier.status = SubmissionStatus.REJECTED
    earlier.save()
    response = client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))
    assert response.status_code == 302


def test_the_period_just_after_an_earlier_invoice_is_fine(kids: Children) -> None:
    make_invoice(
        kids.agency,
        kids.child,
        kids.placement,
        period=(dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        number="BW-02",
    )
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    assert client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH)).status_code == 302


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("", "Enter your invoice number"),
        ("INV#7", "Your invoice number can only include letters, numbers, spaces and / . _ -"),
        ("X" * 31, "Your invoice number must be 30 characters or fewer"),
        (
            "bw-2026-02",
            "You have already used invoice number BW-2026-02 (for 1 February 2026 to 28 February 2026). Each invoice needs a number of its own",
        ),
    ],
)
def test_a_bad_or_used_invoice_number_is_refused(kids: Children, number: str, message: str) -> None:
    make_invoice(
        kids.agency,
        kids.child,
        kids.placement,
        period=(dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        number="BW-2026-02",
    )
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))
    response = client.post(draft_url("invoice_draft_number", draft), {"number": number})
    assert response.status_code == 200
    assert errors(response) == [message]
    draft.refresh_from_db()
    assert draft.provider_invoice_number == ""


def test_another_providers_invoice_number_is_no_obstacle(kids: Children) -> None:
    make_invoice(kids.other_agency, kids.other_child, kids.other_placement, period=MARCH, number="BW-2026-03")
    client = kids.client("agency_user")
    draft = walk(client, kids.placement, number="BW-2026-03")
    assert draft.provider_invoice_number == "BW-2026-03"


def test_the_invoice_number_is_unique_per_provider_in_the_database_too(kids: Children) -> None:
    make_invoice(
        kids.agency,
        kids.child,
        kids.placement,
        period=(dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        number="BW-1",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        make_invoice(kids.agency, kids.child, kids.placement, period=MARCH, number="bw-1")
    make_invoice(kids.other_agency, kids.other_child, kids.other_placement, period=MARCH, number="BW-1")


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("-1", "The quantity must be more than 0"),
        ("0", "The quantity must be more than 0"),
        ("1.234", "The quantity can have at most 2 decimal places"),
        ("four", "Enter the quantity as a number, like 4 or 4.5"),
        ("NaN", "Enter the quantity as a number, like 4 or 4.5"),
        ("", "Enter the quantity as a number, like 4 or 4.5"),
        (
            "40",
            "The quantities come to 40 weeks, more than the period from 1 March 2026 to 31 March 2026 can hold (4.43 weeks)",
        ),
    ],
)
def test_a_negative_or_absurd_quantity_is_refused_and_nothing_is_added(
    kids: Children, quantity: str, message: str
) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement, lines=[])
    response = client.post(
        draft_url("invoice_draft_lines", draft),
        {"description": "March", "quantity": quantity, "action": "continue"},
    )
    assert response.status_code == 200
    assert errors(response) == [message]
    assert f'value="{quantity}"' in response.content.decode() or quantity == ""
    draft.refresh_from_db()
    assert draft.lines == []


def test_lines_together_cannot_come_to_more_than_the_period_holds(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement, lines=[("First", "4")])
    response = client.post(
        draft_url("invoice_draft_lines", draft), {"description": "Second", "quantity": "1", "action": "add"}
    )
    assert errors(response) == [
        "The quantities come to 5 weeks, more than the period from 1 March 2026 to 31 March 2026 can hold (4.43 weeks)"
    ]


def test_a_line_needs_a_description(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement, lines=[])
    response = client.post(
        draft_url("invoice_draft_lines", draft), {"description": " ", "quantity": "2", "action": "add"}
    )
    assert errors(response) == ["Enter a description of the line"]


def test_sending_checks_every_rule_again_and_sends_nothing_when_one_fails(kids: Children) -> None:
    """An invoice for the same days sent (by a colleague) after this draft's period was answered."""
    client = kids.client("agency_user")
    draft = walk(client, kids.placement)
    make_invoice(
        kids.agency,
        kids.child,
        kids.placement,
        period=(dt.date(2026, 3, 20), dt.date(2026, 3, 31)),
        number="BW-OTHER",
    )
    response = client.post(draft_url("invoice_draft_check", draft))
    assert response.status_code == 200
    assert errors(response)[0].startswith("The period overlaps your invoice BW-OTHER for Amira Khan")
    assert Invoice.objects.count() == 1 and not OutboxMessage.objects.exists()
    assert InvoiceDraft.objects.filter(pk=draft.pk).exists()
    # The problem links to the period page, which says the same (the answer given shown, to be changed).
    assert response.context["problems"][0][1] == draft_url("invoice_draft_period", draft)
    page = client.get(draft_url("invoice_draft_period", draft))
    assert errors(page) == [
        "The period overlaps your invoice BW-OTHER for Amira Khan, for 20 March 2026 to 31 March 2026. "
        "Choose a period no earlier invoice covers"
    ]
    assert 'value="31"' in page.content.decode()


def test_a_rate_change_since_the_lines_were_given_is_the_rate_sent(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement, lines=[("March", "2")])
    CarePackageLine.objects.filter(pk=kids.placement.pk).update(rate=D("1000.00"))  # an uplift meanwhile
    check = client.get(draft_url("invoice_draft_check", draft))
    assert check.context["total"] == D("2000.00")
    client.post(draft_url("invoice_draft_check", draft))
    assert OutboxMessage.objects.get().body["lines"][0] == {
        "description": "March",
        "quantity": "2",
        "rate": "1000.00",
        "amount": "2000.00",
    }


def test_a_draft_can_be_deleted(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement)
    assert client.get(draft_url("invoice_draft_discard", draft)).status_code == 405
    response = client.post(draft_url("invoice_draft_discard", draft))
    assert response["Location"] == reverse("invoices")
    assert not InvoiceDraft.objects.exists()


def test_unfinished_drafts_are_listed_for_their_user_only(kids: Children) -> None:
    draft = walk(kids.client("agency_user"), kids.placement)
    listing = kids.client("agency_user").get(reverse("invoices"))
    assert draft_url("invoice_draft_check", draft) in listing.content.decode()
    colleague = MembershipFactory(provider=kids.agency).user
    listing = client_for(colleague).get(reverse("invoices"))
    assert draft_url("invoice_draft_check", draft) not in listing.content.decode()


# Scoping ------------------------------------------------------------------------------------------


def test_a_child_not_placed_with_the_provider_cannot_be_invoiced_for(kids: Children) -> None:
    client = kids.client("agency_user")
    # Another agency's placement, and the carer's (paid on plan), offered by reference: not there.
    for ref in (kids.other_placement.ref, kids.foster_placement.ref, "CPL-NONE"):
        assert client.get(reverse("invoice_new"), {"line": ref}).status_code == 404
        response = client.post(reverse("invoice_new"), {"line": ref})
        assert response.status_code == 200
        assert errors(response) == ["Select the child and placement the invoice is for"]
    assert not InvoiceDraft.objects.exists()
    draft = walk(client, kids.placement)
    response = client.post(draft_url("invoice_draft_placement", draft), {"line": kids.other_placement.ref})
    assert errors(response) == ["Select the child and placement the invoice is for"]
    draft.refresh_from_db()
    assert draft.care_package_line == kids.placement


def test_another_providers_or_another_users_draft_and_invoice_are_not_found(kids: Children) -> None:
    draft = walk(kids.client("agency_user"), kids.placement)
    kids.client("agency_user").post(draft_url("invoice_draft_check", draft))
    invoice = Invoice.objects.get()
    draft = walk(
        kids.client("agency_user"),
        kids.placement,
        period=(dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        number="BW-2",
        lines=[("February", "4")],
    )
    colleague = client_for(MembershipFactory(provider=kids.agency).user)
    for client in (kids.client("other_user"), colleague):
        for name in (
            "invoice_draft_placement",
            "invoice_draft_period",
            "invoice_draft_number",
            "invoice_draft_lines",
            "invoice_draft_check",
        ):
            assert client.get(draft_url(name, draft)).status_code == 404, name
            assert client.post(draft_url(name, draft), {"number": "X"}).status_code == 404, name
        assert client.post(draft_url("invoice_draft_discard", draft)).status_code == 404
    assert kids.client("other_user").get(reverse("invoice", kwargs={"pk": invoice.pk})).status_code == 404
    assert colleague.get(reverse("invoice", kwargs={"pk": invoice.pk})).status_code == 200  # the provider's
    assert InvoiceDraft.objects.filter(pk=draft.pk).exists()


def test_only_childrens_agencies_raise_invoices_and_council_finance_sees_them_all(
    kids: Children, council
) -> None:
    adult = client_for(council.users["provider_a"])
    carer = kids.client("carer_user")
    for client in (adult, carer):
        assert client.get(reverse("invoices")).status_code == 403
        assert client.get(reverse("invoice_new")).status_code == 403
    assert "Invoices" not in _nav(carer) and "Invoices" in _nav(kids.client("agency_user"))

    draft = walk(kids.client("agency_user"), kids.placement)
    kids.client("agency_user").post(draft_url("invoice_draft_check", draft))
    invoice = Invoice.objects.get()
    finance = kids.client("finance")
    assert finance.get(reverse("invoices")).status_code == 403
    listing = finance.get(reverse("council_invoices"))
    assert listing.status_code == 200 and "BW-2026-03" in listing.content.decode()
    assert (
        finance.get(reverse("council_invoices"), {"status": "paid"}).context["page_obj"].paginator.count == 0
    )
    page = finance.get(reverse("council_invoice", kwargs={"pk": invoice.pk}))
    assert page.status_code == 200 and kids.agency.name in page.content.decode()
    assert client_for(council.users["portal_admin"]).get(reverse("council_invoices")).status_code == 403


def _nav(client: Client) -> list[str]:
    page = client.get(reverse("home")).content.decode()
    nav = re.search(r"<nav[^>]*service-navigation.*?</nav>", page, re.S)
    return (
        [label.strip() for label in re.findall(r">([^<>]+)<", nav.group(0)) if label.strip()] if nav else []
    )


def test_invoice_lines_keep_their_position(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement, lines=[("B", "1"), ("A", "2")])
    client.post(draft_url("invoice_draft_check", draft))
    assert list(InvoiceLine.objects.values_list("position", "description")) == [(1, "B"), (2, "A")]


# Found walking the wizard as an agency's office manager -------------------------------------------


def test_the_remove_button_carries_the_pages_csrf_token(kids: Children) -> None:
    """The lines table is an include with `only`: its Remove forms once went without the token, and a
    real browser (which Django's test client, not checking CSRF, is not) got a 403 for every Remove."""
    client = kids.client("agency_user")
    client.handler.enforce_csrf_checks = True  # as a browser's request is checked
    draft = walk(kids.client("agency_user"), kids.placement, lines=[("One", "1"), ("Two", "2")])
    page = client.get(draft_url("invoice_draft_lines", draft)).content.decode()
    remove_forms = re.findall(
        r'<form method="post" novalidate class="council-inline-form">(.*?)</form>', page, re.S
    )
    assert len(remove_forms) == 2
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', remove_forms[0])
    assert token is not None
    response = client.post(
        draft_url("invoice_draft_lines", draft), {"remove": "0", "csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.lines == [{"description": "Two", "quantity": "2"}]


def test_a_shortened_period_that_the_lines_no_longer_fit_is_explained_not_looped(kids: Children) -> None:
    """Changing the period from the check page to one the lines no longer fit sends the provider to the
    lines page: it must say why, and Continue must not send them back to the same page in silence."""
    client = kids.client("agency_user")
    draft = walk(client, kids.placement)  # March, 4.43 weeks
    response = client.post(
        draft_url("invoice_draft_period", draft), period_data(dt.date(2026, 3, 1), dt.date(2026, 3, 15))
    )
    assert response["Location"] == draft_url("invoice_draft_lines", draft)
    message = (
        "The quantities come to 4.43 weeks, more than the period from 1 March 2026 to 15 March 2026 can "
        "hold (2.15 weeks). Remove a line and add it again with a quantity that fits, or change the period"
    )
    page = client.get(response["Location"])
    assert errors(page) == [message]
    assert page.content.decode().split("<title>")[1].startswith("Error: ")
    again = client.post(
        draft_url("invoice_draft_lines", draft), {"description": "", "quantity": "", "action": "continue"}
    )
    assert again.status_code == 200 and errors(again) == [message]
    # Put right (the line removed, a shorter one added), it goes on to the check page.
    client.post(draft_url("invoice_draft_lines", draft), {"remove": "0"})
    response = client.post(
        draft_url("invoice_draft_lines", draft),
        {"description": "1 to 15 March", "quantity": "2.14", "action": "continue"},
    )
    assert response["Location"] == draft_url("invoice_draft_check", draft)


def test_a_placement_no_longer_paid_on_invoice_is_explained_on_its_page(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = walk(client, kids.placement)
    kids.placement.service_type.paid_on = "plan"
    kids.placement.service_type.save()
    page = client.get(draft_url("invoice_draft_placement", draft))
    assert errors(page) == [
        "The placement you chose can no longer be invoiced for: select the child and placement again"
    ]


def test_an_unanswered_step_shows_no_error_when_first_seen(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    for name in ("invoice_draft_period", "invoice_draft_number", "invoice_draft_lines"):
        page = client.get(draft_url(name, draft))
        assert page.status_code == 200 and errors(page) == [], name


def test_the_lines_page_asks_for_the_quantity_in_the_placements_unit(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))
    page = client.get(draft_url("invoice_draft_lines", draft)).content.decode()
    assert '<label class="govuk-label" for="id_quantity">Quantity, in weeks</label>' in page
    assert "Agency placement for Amira Khan" in page and "1 March 2026 to 31 March 2026" in page


def test_an_unfinished_invoice_is_taken_up_at_its_first_unanswered_question(kids: Children) -> None:
    client = kids.client("agency_user")
    draft = start(client, kids.placement)
    listing = client.get(reverse("invoices")).content.decode()
    assert f'href="{draft_url("invoice_draft_period", draft)}"' in listing
    assert "not changed for 30 days are deleted" in listing
    client.post(draft_url("invoice_draft_period", draft), period_data(*MARCH))
    listing = client.get(reverse("invoices")).content.decode()
    assert f'href="{draft_url("invoice_draft_number", draft)}"' in listing


def test_council_finance_finds_invoices_by_provider_and_reference(kids: Children) -> None:
    ours = make_invoice(kids.agency, kids.child, kids.placement, period=MARCH, number="BW-77")
    theirs = make_invoice(
        kids.other_agency, kids.other_child, kids.other_placement, period=MARCH, number="CS-1"
    )
    finance = kids.client("finance")

    def listed(**query: str) -> list[int]:
        response = finance.get(reverse("council_invoices"), query)
        assert response.status_code == 200
        return [invoice.pk for invoice in response.context["page_obj"].object_list]

    assert sorted(listed()) == sorted([ours.pk, theirs.pk])
    assert listed(provider="beechwood") == [ours.pk]
    assert listed(provider=kids.other_agency.ref) == [theirs.pk]
    assert listed(reference="bw-77") == [ours.pk]
    assert listed(reference=theirs.portal_ref) == [theirs.pk]
    assert listed(reference="BW-77", status="paid") == []
    page = finance.get(reverse("council_invoices"), {"provider": "nobody"}).content.decode()
    assert "No invoices match these filters." in page and 'value="nobody"' in page


def test_a_paid_invoice_names_the_remittance_that_paid_it(kids: Children) -> None:
    from remittances.models import RemittanceLine
    from tests.remittances.advice_fixtures import remittance

    invoice = make_invoice(
        kids.agency, kids.child, kids.placement, period=MARCH, number="BW-9", status=SubmissionStatus.PAID
    )
    page = kids.client("agency_user").get(reverse("invoice", kwargs={"pk": invoice.pk})).content.decode()
    assert "Paid in" not in page
    paid = remittance(
        kids.agency,
        [{"kind": RemittanceLine.Kind.INVOICE, "portal_ref": invoice.portal_ref, "amount": D("100.00")}],
        ref="REM-INV-9",
        paid_on=dt.date(2026, 4, 9),
    )
    page = kids.client("agency_user").get(reverse("invoice", kwargs={"pk": invoice.pk})).content.decode()
    assert (
        f'<a class="govuk-link" href="{reverse("remittance", args=[paid.ref])}">Remittance REM-INV-9</a>, paid on 9 April 2026'
        in page
    )
    staff = kids.client("finance").get(reverse("council_invoice", kwargs={"pk": invoice.pk})).content.decode()
    assert f'href="{reverse("council_remittance", args=[paid.ref])}"' in staff
    # Another provider's remittance naming the same reference (later, too) is not this invoice's.
    other = remittance(
        kids.other_agency, [{"kind": RemittanceLine.Kind.INVOICE, "portal_ref": invoice.portal_ref}]
    )
    page = kids.client("agency_user").get(reverse("invoice", kwargs={"pk": invoice.pk})).content.decode()
    assert "Remittance REM-INV-9" in page and other.ref not in page


def test_a_remittance_names_an_invoice_it_pays_by_the_agencys_own_number(kids: Children) -> None:
    from remittances.models import RemittanceLine
    from tests.remittances.advice_fixtures import remittance

    invoice = make_invoice(kids.agency, kids.child, kids.placement, period=MARCH, number="BW-2026-03")
    paid = remittance(
        kids.agency, [{"kind": RemittanceLine.Kind.INVOICE, "portal_ref": invoice.portal_ref}], ref="REM-1"
    )
    page = kids.client("agency_user").get(reverse("remittance", args=[paid.ref]))
    [row] = page.context["rows"]
    assert row.pays == "Invoice BW-2026-03"
    assert row.pays_url == reverse("invoice", kwargs={"pk": invoice.pk})
    staff = kids.client("finance").get(reverse("council_remittance", args=[paid.ref]))
    assert staff.context["rows"][0].pays == "Invoice BW-2026-03"
    assert staff.context["rows"][0].pays_url is None
