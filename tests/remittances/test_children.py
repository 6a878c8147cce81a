"""Information about a child (the Kent seed): the children placed with an agency or a foster carer, and a
page for each with the placement, its invoices, expense claims and messages. Only the provider's own:
another provider's child is a 404, and a provider of adult care has no such pages (403)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from portal import permissions
from portal.accounts.models import Membership
from portal.permissions import permissions_for
from remittances.services_invoices import expense_claim_submit
from tests.conftest import client_for
from tests.remittances.conftest import Children
from tests.remittances.test_invoice_wizard import MARCH, make_invoice

pytestmark = pytest.mark.django_db


def test_an_agency_lists_its_children_and_sees_each_with_its_placement_and_invoices(kids: Children) -> None:
    client = kids.client("agency_user")
    listing = client.get(reverse("children"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "Amira Khan" in text and kids.child.ref in text
    assert "Tyrone Campbell" not in text and "Poppy Walker" not in text
    assert [child.pk for child in listing.context["page_obj"].object_list] == [kids.child.pk]

    invoice = make_invoice(
        kids.agency, kids.child, kids.placement, period=MARCH, number="BW-2026-03", by=kids.agency_user
    )
    invoice.status, invoice.reason = "rejected", "Line 1: the rate is 964.78, not 900.00."
    invoice.save()
    make_invoice(kids.other_agency, kids.other_child, kids.other_placement, period=MARCH, number="OTHER-1")
    page = client.get(reverse("child", kwargs={"ref": kids.child.ref}))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Agency placement" in text and kids.placement.ref in text and "£964.78 a week" in text
    assert "On your invoices" in text  # how the placement is paid
    assert "BW-2026-03" in text and "Line 1: the rate is 964.78, not 900.00." in text
    assert "OTHER-1" not in text
    assert f"{reverse('invoice_new')}?line={kids.placement.ref}" in text
    assert "Expense claims" not in text  # an agency claims no expenses
    assert "Messages" in text  # issue #7's threads about the child
    assert reverse("query_write", kwargs={"query_type": "invoice_query"}) + f"?person={kids.child.pk}" in text


def test_a_foster_carer_sees_its_child_with_expenses_and_no_invoices(kids: Children) -> None:
    expense_claim_submit(
        provider=kids.carer,
        by=kids.carer_user,
        category="mileage",
        incurred_on=dt.date(2026, 4, 10),
        amount="18.45",
        description="School run, 41 miles",
        child_ref=kids.foster_child.ref,
    )
    page = kids.client("carer_user").get(reverse("child", kwargs={"ref": kids.foster_child.ref}))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Fostering placement" in text and "As planned, each week" in text
    assert "Mileage" in text and "£18.45" in text
    assert "Raise an invoice" not in text and '<h2 class="govuk-heading-m">Invoices</h2>' not in text
    assert f"{reverse('expense_claim_new')}?child={kids.foster_child.ref}" in text


def test_another_providers_child_is_not_found(kids: Children, council) -> None:
    client = kids.client("agency_user")
    for ref in (kids.other_child.ref, kids.foster_child.ref, council.line_a.service_user.ref, "CL-NOBODY"):
        assert client.get(reverse("child", kwargs={"ref": ref})).status_code == 404, ref


def test_child_pages_are_for_agencies_and_carers_only(kids: Children, council) -> None:
    adult = client_for(council.users["provider_a"])
    assert adult.get(reverse("children")).status_code == 403
    assert adult.get(reverse("child", kwargs={"ref": council.line_a.service_user.ref})).status_code == 403
    assert kids.client("finance").get(reverse("children")).status_code == 403


def test_what_each_kind_of_provider_may_do() -> None:
    """The roles grant the children's work only for the kinds of provider that do it."""
    from tests.factories import MembershipFactory

    def granted(kind: str, role: str = Membership.Role.PROVIDER_USER) -> frozenset[str]:
        membership = MembershipFactory(provider__kind=kind, role=role)
        return permissions_for(membership.user, membership)

    children_work = {permissions.VIEW_CHILDREN, permissions.RAISE_INVOICES, permissions.CLAIM_EXPENSES}
    assert granted("adult") & children_work == set()
    assert granted("children") & children_work == {permissions.VIEW_CHILDREN, permissions.RAISE_INVOICES}
    assert granted("foster_carer") & children_work == {permissions.VIEW_CHILDREN, permissions.CLAIM_EXPENSES}
    admin = granted("children", Membership.Role.PROVIDER_ADMINISTRATOR)
    assert {permissions.RAISE_INVOICES, permissions.MANAGE_PROVIDER_USERS} <= admin
    assert permissions.VIEW_OWN_CARE_PACKAGE_LINES in granted("adult")  # the rest is as before


def test_the_navigation_shows_each_kind_its_own_pages(kids: Children, council) -> None:
    from tests.remittances.test_invoice_wizard import _nav

    assert {"Children", "Invoices"} <= set(_nav(kids.client("agency_user")))
    assert "Expense claims" not in _nav(kids.client("agency_user"))
    assert {"Children", "Expense claims"} <= set(_nav(kids.client("carer_user")))
    assert "Invoices" not in _nav(kids.client("carer_user"))
    assert not {"Children", "Invoices", "Expense claims"} & set(_nav(client_for(council.users["provider_a"])))
    assert {"Invoices", "Expense claims"} <= set(_nav(kids.client("finance")))
