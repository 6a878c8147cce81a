"""Annual statements: the provider's financial years with what each paid, and a statement of each as a PDF
made by a worker (the document's page shows its progress, then the download)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView

from portal import permissions
from portal.access import PermissionRequiredMixin
from portal.providers.models import Provider
from remittances import statements
from remittances.models import DocumentRequest


class AnnualStatementsView(PermissionRequiredMixin, TemplateView):
    permission_required = permissions.VIEW_OWN_REMITTANCES
    template_name = "remittances/annual_statements.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        years = statements.statement_years(provider=self.provider)
        live = {
            int(document.subject_key): document
            for document in DocumentRequest.objects.for_provider(self.provider)
            .live()
            .filter(kind=DocumentRequest.Kind.ANNUAL_STATEMENT_PDF)
        }
        context["years"] = [(year, live.get(year.year)) for year in years]
        context["foster_carer"] = self.provider.kind == Provider.Kind.FOSTER_CARER
        return context


class AnnualStatementRequestView(PermissionRequiredMixin, View):
    """Ask for a year's statement (or find the one asked for) and go to its page."""

    permission_required = permissions.VIEW_OWN_REMITTANCES

    def post(self, request: HttpRequest, year: int) -> HttpResponse:
        if year not in {summary.year for summary in statements.statement_years(provider=self.provider)}:
            raise Http404("No payments in that year")
        document = statements.annual_statement_request(
            provider=self.provider, financial_year=year, by=self.user
        )
        return HttpResponseRedirect(reverse("document", args=[document.pk]))
