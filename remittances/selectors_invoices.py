"""Reads of invoices, expense claims and the children placed with a provider that views reuse. Every one
starts from a scoped queryset: the provider in use, or a member of council staff."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Prefetch, Q, QuerySet

from disputes.models import Thread
from portal.providers.models import CarePackageLine, Provider, ServiceUser
from remittances.models import Remittance, RemittanceLine
from remittances.models_invoices import ExpenseClaim, Invoice, InvoiceLine

if TYPE_CHECKING:
    from portal.accounts.models import User


def _placements(provider: Provider) -> QuerySet[CarePackageLine]:
    return (
        CarePackageLine.objects.for_provider(provider)
        .select_related("service_type")
        .order_by("-start_date", "ref")
    )


def children_for_provider(*, provider: Provider) -> QuerySet[ServiceUser]:
    """The children placed with the provider (a care package line with it, now or before), by name, each
    with `placements`: its lines with this provider, newest first, and no other provider's."""
    return (
        ServiceUser.objects.for_provider(provider)
        .order_by("name", "ref")
        .prefetch_related(
            Prefetch("care_package_lines", queryset=_placements(provider), to_attr="placements")
        )
    )


def child_for_provider(*, provider: Provider, ref: str) -> ServiceUser | None:
    return children_for_provider(provider=provider).filter(ref=ref).first()


def _with_lines(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    return invoices.prefetch_related(Prefetch("lines", queryset=InvoiceLine.objects.order_by("position")))


def invoices_for_provider(*, provider: Provider) -> QuerySet[Invoice]:
    return Invoice.objects.for_provider(provider).select_related(
        "service_user", "care_package_line__service_type"
    )


def invoice_for_provider(*, provider: Provider, pk: int) -> Invoice | None:
    return (
        _with_lines(invoices_for_provider(provider=provider))
        .select_related("submitted_by", "provider")
        .filter(pk=pk)
        .first()
    )


def _provider_matches(provider: str) -> Q:
    provider = provider.strip()
    return Q(provider__name__icontains=provider) | Q(provider__ref__iexact=provider) if provider else Q()


def invoices_for_staff(
    *, user: User, status: str = "", provider: str = "", reference: str = ""
) -> QuerySet[Invoice]:
    """Every provider's invoices for council staff, optionally by status, provider (name or reference)
    and reference (the provider's invoice number, the portal's or the council's reference)."""
    invoices = Invoice.objects.for_staff(user).select_related(
        "provider", "service_user", "care_package_line__service_type"
    )
    if status:
        invoices = invoices.filter(status=status)
    reference = reference.strip()
    if reference:
        invoices = invoices.filter(
            Q(provider_invoice_number__iexact=reference)
            | Q(portal_ref__iexact=reference)
            | Q(backoffice_ref__iexact=reference)
        )
    return invoices.filter(_provider_matches(provider))


def invoice_for_staff(*, user: User, pk: int) -> Invoice | None:
    return _with_lines(invoices_for_staff(user=user)).select_related("submitted_by").filter(pk=pk).first()


def expense_claims_for_provider(*, provider: Provider) -> QuerySet[ExpenseClaim]:
    return ExpenseClaim.objects.for_provider(provider).select_related("service_user")


def expense_claim_for_provider(*, provider: Provider, pk: int) -> ExpenseClaim | None:
    return (
        expense_claims_for_provider(provider=provider)
        .select_related("submitted_by", "provider")
        .filter(pk=pk)
        .first()
    )


def expense_claims_for_staff(
    *, user: User, status: str = "", provider: str = "", reference: str = ""
) -> QuerySet[ExpenseClaim]:
    """Every provider's expense claims for council staff, optionally by status, provider (name or
    reference) and reference (the portal's or the council's)."""
    claims = ExpenseClaim.objects.for_staff(user).select_related("provider", "service_user")
    if status:
        claims = claims.filter(status=status)
    reference = reference.strip()
    if reference:
        claims = claims.filter(Q(portal_ref__iexact=reference) | Q(backoffice_ref__iexact=reference))
    return claims.filter(_provider_matches(provider))


def expense_claim_for_staff(*, user: User, pk: int) -> ExpenseClaim | None:
    return expense_claims_for_staff(user=user).select_related("submitted_by").filter(pk=pk).first()


def threads_about_child(
    *, provider: Provider, child: ServiceUser, invoice_refs: list[str]
) -> QuerySet[Thread]:
    """The provider's messages (issue #7's threads) about the child, or about one of its invoices."""
    about = Q(person=child)
    if invoice_refs:
        about |= Q(invoice_ref__in=invoice_refs)
    return (
        Thread.objects.for_provider(provider)
        .filter(about)
        .select_related("team")
        .order_by("-last_message_at")
    )


def threads_about_invoice(*, invoice: Invoice) -> QuerySet[Thread]:
    """The messages about an invoice: its provider's threads naming it (the invoice came from a scoped
    read already)."""
    return (
        Thread.objects.for_provider(invoice.provider)
        .filter(invoice_ref=invoice.portal_ref)
        .order_by("-last_message_at")
    )


def remittance_paying(*, item: Invoice | ExpenseClaim) -> Remittance | None:
    """The remittance that paid an invoice or an expense claim (the latest, if the back office paid it in
    parts), among its own provider's: None while unpaid. The item came from a scoped read already."""
    kind = RemittanceLine.Kind.INVOICE if isinstance(item, Invoice) else RemittanceLine.Kind.EXPENSE_CLAIM
    return (
        Remittance.objects.for_provider(item.provider)
        .filter(lines__kind=kind, lines__portal_ref=item.portal_ref)
        .order_by("-paid_on", "-ref")
        .first()
    )
