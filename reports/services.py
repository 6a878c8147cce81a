"""Report files: made in the request when small, by a worker when large (DESIGN.md, "Long work").

The life of a report request (asking once, claiming, progress, taking over a silent run, failing, expiry,
the sweep) is every background file's: `portal.documents` (remittances' documents live it too). What is
particular here:

- **Deciding** (`is_small`): the page's report is built as the page built it; a file of at most
  INLINE_MAX_ROWS rows (by format: a PDF is laid out page by page, slowly) is made at once and answered; a
  larger one becomes a `ReportRequest` and the page shows its progress.
- **Asking** (`report_request`) reuses the live request for the same report, format and filters of the
  same owner (the requester for a council report, the provider for a provider report), so a double click
  starts one run, not two. A failed or removed file is asked for again the same way ("Try again").
- **Making** (`report_make`, the task's one call) builds the report from the stored filters through the
  same form and selector as the page, and only while the requester still may: a council report while
  they hold the report's permission, a provider report while they act for that provider with it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from portal import documents as background
from portal import permissions
from portal.accounts.models import Membership
from portal.documents import Made, Progress, SweepResult
from reports.definitions import ReportDefinition, Scope, report_definition
from reports.models import ReportRequest
from reports.tables import Report

__all__ = ["ReportError", "SweepResult", "report_make", "report_request", "reports_sweep"]

State = ReportRequest.State
Format = ReportRequest.Format

# The most rows a file is made with in the web request (beyond that a worker makes it): an Excel sheet of
# 20,000 rows takes about a second; WeasyPrint lays out about 60 table rows a second on this machine.
INLINE_MAX_ROWS = {Format.XLSX: 20_000, Format.PDF: 150}
# About this many table rows to a PDF page, for the progress shown while the pages are laid out.
PDF_ROWS_A_PAGE = 30
CONTENT_TYPES = {
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.PDF: "application/pdf",
}


class ReportError(background.BackgroundFileError):
    """A report file cannot be asked for or made (the message is for the user)."""


# Making a file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFile:
    data: bytes
    name: str
    content_type: str
    rows: int


def file_name(definition: ReportDefinition, fmt: str) -> str:
    from portal import clock

    return f"{definition.slug}-{clock.today().isoformat()}.{fmt}"


def _rows_for(report: Report, fmt: str) -> int:
    return report.rows_in(with_detail=fmt == Format.XLSX)


def report_file(
    *, definition: ReportDefinition, report: Report, fmt: str, progress: Progress | None = None
) -> ReportFile:
    """The report as a file in `fmt`."""
    if fmt == Format.XLSX:
        from reports.excel import report_workbook

        data = report_workbook(report, progress=progress)
    elif fmt == Format.PDF:
        from reports.pdf import report_pdf

        if progress is None:
            data, _pages = report_pdf(report)
        else:
            expected = _rows_for(report, fmt) // PDF_ROWS_A_PAGE + 1
            with background.layout_progress(progress, expected):
                data, _pages = report_pdf(report, progress=progress)
    else:
        raise ReportError("Choose Excel or PDF.")
    return ReportFile(data, file_name(definition, fmt), CONTENT_TYPES[Format(fmt)], _rows_for(report, fmt))


def is_small(report: Report, fmt: str) -> bool:
    return _rows_for(report, fmt) <= INLINE_MAX_ROWS[Format(fmt)]


# Asking ------------------------------------------------------------------------------------------


def owner_of(definition: ReportDefinition, scope: Scope) -> str:
    if definition.audience == "provider":
        assert scope.provider is not None
        return f"provider:{scope.provider.pk}"
    return f"user:{scope.user.pk}"


def request_key(definition: ReportDefinition, fmt: str, filters: dict[str, str]) -> str:
    text = json.dumps([definition.audience, definition.key, fmt, sorted(filters.items())], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def report_request(
    *,
    definition: ReportDefinition,
    scope: Scope,
    fmt: str,
    filters: dict[str, str],
    filters_text: str,
) -> ReportRequest:
    """Ask a worker for the report's file; the live request for the same file if there is one."""
    if fmt not in Format.values:
        raise ReportError("Choose Excel or PDF.")
    if definition.audience == "council" and not scope.user.is_council_staff:
        raise ReportError("Only council staff run council reports.")
    owner, key = owner_of(definition, scope), request_key(definition, fmt, filters)
    return background.background_request(
        model=ReportRequest,
        live=ReportRequest.objects.all_for_workers().live().filter(owner=owner, key=key),
        fields={
            "report": definition.key,
            "format": fmt,
            "filters": filters,
            "filters_text": filters_text[:500],
            "owner": owner,
            "key": key,
            "provider": scope.provider if definition.audience == "provider" else None,
            "requested_by": scope.user,
            "file_name": file_name(definition, fmt),
        },
        actor=scope.user,
        audit_action="reports.file.requested",
        audit_data={"report": definition.key, "format": fmt, "filters": filters},
    )


def definition_of(request: ReportRequest) -> ReportDefinition:
    return report_definition("provider" if request.provider_id else "council", request.report)


def retry_query(request: ReportRequest) -> str:
    """The query string of the report's page and download for the request's filters: asking for a failed
    or removed file again is a download of the same report with the same filters."""
    return urlencode(sorted(request.filters.items()))


# The worker --------------------------------------------------------------------------------------


def _scope(request: ReportRequest, definition: ReportDefinition) -> Scope:
    """Whose figures, checked again now: the requester must still hold the report's permission (for a
    provider report, acting for that provider)."""
    user = request.requested_by
    if user is None or not user.is_active:
        raise ReportError("The person who asked for it no longer has a login.")
    if definition.audience == "council":
        if definition.permission not in permissions.permissions_for(user, None):
            raise ReportError("The person who asked for it may no longer run this report.")
        return Scope(user)
    assert request.provider_id is not None  # a provider report's request names its provider
    membership = Membership.objects.usable().filter(user=user, provider_id=request.provider_id).first()
    if membership is None or definition.permission not in permissions.permissions_for(user, membership):
        raise ReportError("The person who asked for it may no longer run this provider's reports.")
    return Scope(user, membership.provider)


def report_build(*, definition: ReportDefinition, scope: Scope, filters: dict[str, Any]) -> Report:
    """The report for stored filters, through its form as the page took them."""
    form = definition.form(filters)
    if not form.is_valid():
        raise ReportError(f"The filters are no longer valid: {form.errors.as_text()}")
    return definition.build(scope, form.cleaned_data)


def _make(request: ReportRequest, progress: Progress) -> Made:
    definition = definition_of(request)
    report = report_build(definition=definition, scope=_scope(request, definition), filters=request.filters)
    progress(40, "Writing the file")
    made = report_file(definition=definition, report=report, fmt=request.format, progress=progress)
    return Made(made.data, {"rows": made.rows})


def report_make(*, request_id: uuid.UUID | str) -> str:
    """Make the requested file if it still needs making; a no-op otherwise. Returns its state after."""
    return background.background_make(
        model=ReportRequest,
        row_id=request_id,
        make=_make,
        first_stage="Reading the figures",
        related=("provider", "requested_by"),
    )


# Files -------------------------------------------------------------------------------------------

request_path = background.background_path
request_file = background.background_ready_file


def reports_sweep(*, limit: int = 500) -> SweepResult:
    """Remove the files of requests past their time; queue again those a lost task or dead worker left."""
    return background.background_sweep(model=ReportRequest, limit=limit)
