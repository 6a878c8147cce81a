"""Remittance advice pages: the list, one remittance with its lines and totals, its Excel and PDF
downloads, and the pages of documents a worker makes (a long remittance's PDF, an annual statement).

The provider's views read through `advice` starting from the provider in use: another provider's
remittance or document is a 404. The council's (finance officers, VIEW_ALL_REMITTANCES) are the same
views with `staff = True`, reading through the staff user. A remittance of up to
`documents.INLINE_PDF_MAX_LINES` lines has its PDF made in the request; a longer one is asked for with a
POST and made by a worker, with its progress on the document's page (htmx polls it; without JavaScript a
"Check again" link reloads it).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.views import View
from django.views.generic import TemplateView

from portal import permissions
from portal.access import PermissionRequiredMixin, portal_request
from portal.formatting import money
from portal.pagination import paginate
from remittances import advice, documents
from remittances.excel import XLSX_CONTENT_TYPE, remittance_workbook, remittance_workbook_name
from remittances.filters_advice import RemittanceFilter, StaffRemittanceFilter
from remittances.models import DocumentRequest, Remittance
from remittances.pdf import remittance_pdf, remittance_pdf_name

LIST_PER_PAGE = 50
LINES_PER_PAGE = 100


def download_response(data: bytes, *, filename: str, content_type: str) -> HttpResponse:
    """A file to save, never shown inline or cached; its type as we made it."""
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename) or ""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    patch_cache_control(response, private=True, no_store=True)
    return response


class AdviceMixin(PermissionRequiredMixin):
    """Whose remittances: the provider in use's, or (staff) every provider's. URL names follow."""

    permission_required = permissions.VIEW_OWN_REMITTANCES
    staff = False
    kwargs: dict[str, Any]
    request: HttpRequest

    def url(self, name: str, *args: Any) -> str:
        return reverse(f"council_{name}" if self.staff else name, args=args)

    def remittances(self) -> Any:
        if self.staff:
            return advice.remittances_for_staff(user=self.user)
        return advice.remittances_for_provider(provider=self.provider)

    def get_remittance(self) -> Remittance:
        ref = self.kwargs["ref"]
        if self.staff:
            remittance = advice.remittance_for_staff(user=self.user, ref=ref)
        else:
            remittance = advice.remittance_for_provider(provider=self.provider, ref=ref)
        if remittance is None:
            raise Http404("No such remittance")
        return remittance

    def documents(self) -> Any:
        if self.staff:
            return DocumentRequest.objects.for_staff(self.user)
        return DocumentRequest.objects.for_provider(self.provider)

    def live_pdf(self, remittance: Remittance) -> DocumentRequest | None:
        return (
            self.documents()
            .live()
            .filter(
                provider=remittance.provider,
                kind=DocumentRequest.Kind.REMITTANCE_PDF,
                subject_key=remittance.ref,
            )
            .first()
        )


class StaffMixin:
    permission_required = permissions.VIEW_ALL_REMITTANCES
    staff = True


# The list ---------------------------------------------------------------------------------------


class RemittanceListView(AdviceMixin, TemplateView):
    """Every remittance, newest first, filtered by payment run, financial year or a day paid for."""

    template_name = "remittances/remittances.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        base = (
            Remittance.objects.for_staff(self.user)
            if self.staff
            else Remittance.objects.for_provider(self.provider)
        )
        filter_class = StaffRemittanceFilter if self.staff else RemittanceFilter
        years = advice.financial_years(base)
        filterset = filter_class(self.request.GET or None, queryset=self.remittances(), years=years)
        context.update(
            filterset=filterset,
            form=filterset.form,
            has_remittances=bool(years),  # every remittance has a year: none means none at all
            staff=self.staff,
            detail_url=self.url("remittances"),
            **paginate(self.request, filterset.qs, per_page=LIST_PER_PAGE),
        )
        return context


class StaffRemittanceListView(StaffMixin, RemittanceListView):
    pass


# One remittance ---------------------------------------------------------------------------------


class RemittanceDetailView(AdviceMixin, TemplateView):
    """One remittance: its payment, its lines (each with the person, what it pays, linked), its totals,
    and the downloads."""

    template_name = "remittances/remittance.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        remittance = self.get_remittance()
        totals = advice.advice_totals(remittance)
        page = paginate(
            self.request, advice.remittance_lines(remittance), per_page=LINES_PER_PAGE, count=totals.lines
        )
        rows = advice.advice_rows(
            provider=remittance.provider, lines=list(page["page_obj"].object_list), links=not self.staff
        )
        granted = portal_request(self.request).portal_perms
        context.update(
            page,
            summary_rows=self.summary_rows(remittance, totals),
            remittance=remittance,
            totals=totals,
            rows=rows,
            staff=self.staff,
            can_query=not self.staff and permissions.USE_MESSAGES in granted,
            pdf_inline=totals.lines <= documents.INLINE_PDF_MAX_LINES,
            pdf_document=None
            if totals.lines <= documents.INLINE_PDF_MAX_LINES
            else self.live_pdf(remittance),
            list_url=self.url("remittances"),
            excel_url=self.url("remittance_excel", remittance.ref),
            pdf_url=self.url("remittance_pdf", remittance.ref),
            pdf_request_url=self.url("remittance_pdf_request", remittance.ref),
            document_url_name="council_document" if self.staff else "document",
        )
        return context

    def summary_rows(
        self, remittance: Remittance, totals: advice.AdviceTotals
    ) -> list[tuple[str, Any, None]]:
        rows: list[tuple[str, Any, None]] = []
        if self.staff:
            provider = remittance.provider
            link = format_html(
                '<a class="govuk-link" href="{}">{}</a> ({})',
                reverse("council_provider", args=[provider.ref]),
                provider.name,
                provider.ref,
            )
            rows.append(("Provider", link, None))
        rows += [
            ("Remittance", remittance.ref, None),
            ("Payment run", remittance.payment_run_ref, None),
            ("Paid on", date_format(remittance.paid_on, "j F Y"), None),
            ("Lines", f"{totals.lines:,}", None),
            ("Paid for services", money(totals.services), None),
        ]
        if totals.adjustment_lines:
            rows.append(("Payment adjustments", money(totals.adjustments), None))
        rows.append(
            (
                "Total paid",
                format_html('<strong data-testid="total-paid">{}</strong>', money(totals.total)),
                None,
            )
        )
        return rows


class StaffRemittanceDetailView(StaffMixin, RemittanceDetailView):
    pass


class RemittanceExcelView(AdviceMixin, View):
    def get(self, request: HttpRequest, ref: str) -> HttpResponse:
        remittance = self.get_remittance()
        return download_response(
            remittance_workbook(remittance=remittance),
            filename=remittance_workbook_name(remittance),
            content_type=XLSX_CONTENT_TYPE,
        )


class StaffRemittanceExcelView(StaffMixin, RemittanceExcelView):
    pass


class RemittancePdfView(AdviceMixin, View):
    """The PDF, made now for a remittance short enough; a longer one is made by a worker (its page)."""

    def get(self, request: HttpRequest, ref: str) -> HttpResponse:
        remittance = self.get_remittance()
        lines = remittance.lines.count()
        if lines > documents.INLINE_PDF_MAX_LINES:
            live = self.live_pdf(remittance)
            if live is not None:
                return HttpResponseRedirect(self.url("document", live.pk))
            messages.info(
                request,
                f"This remittance has {lines:,} lines: its PDF is prepared in the background. "
                "Select “Prepare the PDF” and we will show you when it is ready.",
            )
            return HttpResponseRedirect(self.url("remittance", remittance.ref) + "#downloads")
        data, _pages = remittance_pdf(remittance=remittance)
        return download_response(
            data, filename=remittance_pdf_name(remittance), content_type="application/pdf"
        )


class StaffRemittancePdfView(StaffMixin, RemittancePdfView):
    pass


class RemittancePdfRequestView(AdviceMixin, View):
    """Ask a worker for the PDF (or find the one already asked for) and go to its page."""

    def post(self, request: HttpRequest, ref: str) -> HttpResponse:
        remittance = self.get_remittance()
        document = documents.document_request(
            provider=remittance.provider,
            kind=DocumentRequest.Kind.REMITTANCE_PDF,
            remittance=remittance,
            by=self.user,
            file_name=remittance_pdf_name(remittance),
        )
        return HttpResponseRedirect(self.url("document", document.pk))


class StaffRemittancePdfRequestView(StaffMixin, RemittancePdfRequestView):
    pass


# Documents --------------------------------------------------------------------------------------


class DocumentView(AdviceMixin, View):
    """A document's progress, then its download link. With htmx (HX-Request) only the status panel is
    answered, which the page swaps in every two seconds while the document is being made."""

    def get_document(self) -> DocumentRequest:
        document = (
            self.documents().select_related("remittance", "provider").filter(pk=self.kwargs["pk"]).first()
        )
        if document is None:
            raise Http404("No such document")
        return document

    def back(self, document: DocumentRequest) -> tuple[str, str]:
        """Where the document belongs: (URL, words)."""
        if document.remittance is not None:
            return self.url("remittance", document.remittance.ref), f"Remittance {document.remittance.ref}"
        if self.staff:
            return self.url("remittances"), "Remittances"
        return reverse("annual_statements"), "Annual statements"

    def retry_url(self, document: DocumentRequest) -> str:
        if document.remittance is not None:
            return self.url("remittance_pdf_request", document.remittance.ref)
        return reverse("annual_statement_request", args=[document.financial_year])

    def get(self, request: HttpRequest, pk: Any) -> HttpResponse:
        document = self.get_document()
        back_url, back_text = self.back(document)
        context = {
            "document": document,
            "status_url": self.url("document", document.pk),
            "download_url": self.url("document_download", document.pk),
            "retry_url": "" if self.staff and document.remittance is None else self.retry_url(document),
            "back_url": back_url,
            "back_text": back_text,
            "provider": document.provider,
            "staff": self.staff,
        }
        if request.headers.get("HX-Request"):
            return render(request, "remittances/_document_status.html", context)
        return render(request, "remittances/document.html", context)


class StaffDocumentView(StaffMixin, DocumentView):
    pass


class DocumentDownloadView(DocumentView):
    """The made file, to the provider's users (or council staff) only; 404 for anyone else, and once it
    has expired."""

    def get(self, request: HttpRequest, pk: Any) -> FileResponse:  # type: ignore[override]
        document = self.get_document()
        path = documents.document_file(document)
        if path is None:
            raise Http404("No such document, or no longer kept")
        response = FileResponse(
            path.open("rb"), as_attachment=True, filename=document.file_name, content_type="application/pdf"
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        patch_cache_control(response, private=True, no_store=True)
        return response


class StaffDocumentDownloadView(StaffMixin, DocumentDownloadView):
    pass
