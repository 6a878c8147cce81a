"""The reports' pages, for both audiences: one set of views, each given its report's definition (and its
permission) in the URL configuration (reports/urls.py for providers, reports/urls_council.py for council
staff). Views only build forms, call the definition or a service, and render.

A council report's figures are the staff user's (`for_staff`); a provider report's the provider in use.
A report file is reachable only by its requester (council) or by the provider's users (provider): any
other request for it is a 404.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views import View

from portal.access import PermissionRequiredMixin
from portal.documents import download_headers
from portal.pagination import paginate
from reports import services
from reports.definitions import COUNCIL_REPORTS, PROVIDER_REPORTS, Audience, ReportDefinition, Scope
from reports.models import ReportRequest
from reports.tables import Report, Table, displayed_rows, displayed_totals, head

PER_PAGE = 50
RECENT_FILES = 10
STATE_COLOURS = {
    ReportRequest.State.QUEUED: "blue",
    ReportRequest.State.RUNNING: "blue",
    ReportRequest.State.READY: "green",
    ReportRequest.State.FAILED: "red",
    ReportRequest.State.EXPIRED: "grey",
}


class ReportAccessMixin(PermissionRequiredMixin):
    """The audience's scope and its report files."""

    audience: ClassVar[Audience] = "council"

    def scope(self) -> Scope:
        if self.audience == "provider":
            return Scope(self.user, self.provider)
        return Scope(self.user)

    def files(self) -> Any:
        if self.audience == "provider":
            return ReportRequest.objects.for_provider(self.provider)
        return ReportRequest.objects.for_requester(self.user)

    def file_url(self, request_row: ReportRequest, *, download: bool = False) -> str:
        name = "council_report_file" if self.audience == "council" else "report_file"
        return reverse(f"{name}_download" if download else name, kwargs={"pk": request_row.pk})


class ReportIndexView(ReportAccessMixin, View):
    """The reports this user may run, and the files they (or, for a provider, its users) asked for."""

    def get(self, request: HttpRequest) -> HttpResponse:
        granted: frozenset[str] = getattr(request, "portal_perms", frozenset())
        definitions = COUNCIL_REPORTS if self.audience == "council" else PROVIDER_REPORTS
        files = list(self.files().select_related("requested_by")[:RECENT_FILES])
        return render(
            request,
            "reports/index.html",
            {
                "audience": self.audience,
                "reports": [
                    {"definition": d, "url": reverse(d.url_name)}
                    for d in definitions
                    if d.permission in granted
                ],
                "files": [
                    {
                        "file": f,
                        "url": self.file_url(f),
                        "title": _title_of(f),
                        "colour": STATE_COLOURS[f.shown_state],
                    }
                    for f in files
                ],
                "hours": settings.REPORT_FILES_HOURS,
            },
        )


def _title_of(request_row: ReportRequest) -> str:
    try:
        return services.definition_of(request_row).title
    except KeyError:
        return request_row.report


def _retry_url(request: HttpRequest, request_row: ReportRequest) -> str:
    """Where "Try again" posts for a file that failed or was removed: the report's download with the
    same filters (so the same report, made again), when this user may still run it; "" otherwise."""
    if request_row.is_pending or request_row.is_ready:
        return ""
    try:
        definition = services.definition_of(request_row)
    except KeyError:
        return ""
    granted: frozenset[str] = getattr(request, "portal_perms", frozenset())
    if definition.permission not in granted:
        return ""
    return f"{reverse(definition.download_url_name)}?{services.retry_query(request_row)}"


class ReportDefinitionMixin(ReportAccessMixin):
    definition: ClassVar[ReportDefinition | None] = None

    @property
    def report_definition(self) -> ReportDefinition:
        if self.definition is None:
            raise Http404("No such report")
        return self.definition

    def page_url(self) -> str:
        return reverse(self.report_definition.url_name)


def screen_tables(request: HttpRequest, report: Report) -> list[dict[str, Any]]:
    """The tables a page shows (not the detail listings), the paged one a page at a time."""
    shown = []
    for table in report.tables:
        if table.detail:
            continue
        item: dict[str, Any] = {"table": table, "head": head(table), "totals": displayed_totals(table)}
        if table.paged:
            page = paginate(request, table.rows, per_page=PER_PAGE)
            item.update(page)
            item["rows"] = displayed_rows(table, page["page_obj"].object_list)
            item["count"] = len(table.rows)
        else:
            item["rows"] = displayed_rows(table, table.rows)
        shown.append(item)
    return shown


def detail_tables(report: Report) -> list[Table]:
    return [table for table in report.tables if table.detail]


class ReportPageView(ReportDefinitionMixin, View):
    """A report on screen: its filters (a GET form), its tables, and the buttons that download it."""

    def get(self, request: HttpRequest) -> HttpResponse:
        definition = self.report_definition
        form = definition.form(request.GET)
        report = definition.build(self.scope(), form.cleaned_data) if form.is_valid() else None
        keep = request.GET.copy()
        keep.pop("page", None)
        return render(
            request,
            "reports/report.html",
            {
                "definition": definition,
                "audience": self.audience,
                "form": form,
                "report": report,
                "tables": screen_tables(request, report) if report else [],
                "details": detail_tables(report) if report else [],
                "download_url": f"{reverse(definition.download_url_name)}?{keep.urlencode()}",
                "index_url": reverse("council_reports" if self.audience == "council" else "reports"),
            },
        )


class ReportDownloadView(ReportDefinitionMixin, View):
    """The report as a file (POST: a large one is a request a worker fills, so asking changes something).
    The filters come in the query string, as the page had them."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponseBase:
        definition = self.report_definition
        fmt = request.POST.get("format", "")
        form = definition.form(request.GET)
        if fmt not in ReportRequest.Format.values or not form.is_valid():
            return HttpResponseRedirect(f"{self.page_url()}?{request.GET.urlencode()}")
        scope = self.scope()
        report = definition.build(scope, form.cleaned_data)
        if services.is_small(report, fmt):
            made = services.report_file(definition=definition, report=report, fmt=fmt)
            response = HttpResponse(made.data, content_type=made.content_type)
            response["Content-Disposition"] = f'attachment; filename="{made.name}"'
            return download_headers(response)
        try:
            request_row = services.report_request(
                definition=definition,
                scope=scope,
                fmt=fmt,
                filters=form.filters(),
                filters_text=report.filters_text,
            )
        except services.ReportError as error:
            raise Http404(str(error)) from error
        return HttpResponseRedirect(self.file_url(request_row))


class ReportFileView(ReportAccessMixin, View):
    """A report file's progress while a worker makes it, then its download. With htmx (HX-Request) only
    the status panel is answered, which the page swaps in every two seconds while the file is made.
    Without JavaScript the page can be asked to reload itself while the file is made (`?auto=1`, a meta
    refresh the user turns on and off: WCAG 2.2.1), or reloaded with "Check again"."""

    AUTO_REFRESH_SECONDS = 5

    def get(self, request: HttpRequest, pk: Any) -> HttpResponse:
        request_row = self.files().select_related("requested_by").filter(pk=pk).first()
        if request_row is None:
            raise Http404("No such report file")
        auto = request.GET.get("auto") == "1" and request_row.is_pending
        return render(
            request,
            "reports/_file_status.html" if request.headers.get("HX-Request") else "reports/file.html",
            {
                "file": request_row,
                "title": _title_of(request_row),
                "status_url": self.file_url(request_row),
                "download_url": self.file_url(request_row, download=True),
                "retry_url": _retry_url(request, request_row),
                "auto": auto,
                "refresh_seconds": self.AUTO_REFRESH_SECONDS,
                "index_url": reverse("council_reports" if self.audience == "council" else "reports"),
            },
        )


class ReportFileDownloadView(ReportAccessMixin, View):
    def get(self, request: HttpRequest, pk: Any) -> HttpResponseBase:
        request_row = self.files().filter(pk=pk).first()
        path = services.request_file(request_row) if request_row is not None else None
        if request_row is None or path is None:
            raise Http404("No such report file")
        response = FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=request_row.file_name,
            content_type=services.CONTENT_TYPES[ReportRequest.Format(request_row.format)],
        )
        return download_headers(response)
