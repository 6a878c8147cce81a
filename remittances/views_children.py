"""Information about a child (the Kent seed): for children's agencies and foster carers, the children placed
with them and a page for each, with the placement (the care package line), its invoices, expense claims
and messages. Only the provider's own: another provider's child is a 404."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from portal import permissions
from portal.access import PermissionRequiredMixin, portal_request
from portal.pagination import paginate
from portal.providers.models import ServiceType
from remittances import selectors_invoices as selectors

CHILDREN_PER_PAGE = 50


class ChildrenView(PermissionRequiredMixin, View):
    permission_required = permissions.VIEW_CHILDREN

    def get(self, request: HttpRequest) -> HttpResponse:
        children = selectors.children_for_provider(provider=self.provider)
        return render(
            request,
            "remittances/children/child_list.html",
            paginate(request, children, per_page=CHILDREN_PER_PAGE),
        )


class ChildView(PermissionRequiredMixin, View):
    permission_required = permissions.VIEW_CHILDREN

    def get(self, request: HttpRequest, ref: str) -> HttpResponse:
        child = selectors.child_for_provider(provider=self.provider, ref=ref)
        if child is None:
            raise Http404("No such child placed with you")
        granted = portal_request(request).portal_perms
        placements = child.placements  # type: ignore[attr-defined]
        context: dict[str, Any] = {
            "child": child,
            "placements": placements,
            "invoice_placements": [
                line for line in placements if line.service_type.paid_on == ServiceType.PaidOn.INVOICE
            ],
            "invoices": [],
            "claims": [],
            "threads": [],
        }
        if permissions.RAISE_INVOICES in granted:
            context["invoices"] = list(
                selectors.invoices_for_provider(provider=self.provider).filter(service_user=child)
            )
        if permissions.CLAIM_EXPENSES in granted:
            context["claims"] = list(
                selectors.expense_claims_for_provider(provider=self.provider).filter(service_user=child)
            )
        if permissions.USE_MESSAGES in granted:
            context["threads"] = list(
                selectors.threads_about_child(
                    provider=self.provider,
                    child=child,
                    invoice_refs=[invoice.portal_ref for invoice in context["invoices"]],
                )[:20]
            )
        return render(request, "remittances/children/child_detail.html", context)
