"""The Excel claim form: download a week, upload it filled in, see what it would change and what is
wrong with it, apply it. The upload and preview views are written once here for both kinds of file;
`actuals/views_visits.py` is the call-monitoring import on the same shape.

Views only call `actuals.claim_forms` (and `actuals.visits`); another provider's week or upload is a
404 because every read starts from the provider in use.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.views import View

from actuals import calendar, claim_forms
from actuals.claim_forms import ActualsError, ApplyResult, CheckResult, UploadNotFound, UploadRefused
from actuals.forms_uploads import ClaimFormUploadForm, FileUploadForm, UploadApplyForm
from actuals.models import ActualsUpload, ProviderWeek
from actuals.views import WeekMixin, week_url
from portal import clock, permissions
from portal.pagination import paginate
from portal.uploads import UploadLimitMixin

CHANGES_PER_PAGE = 100
SUMMARY_PROBLEMS = 10  # in the error summary; the table below lists them all


def _problem_text(problem: dict[str, Any]) -> str:
    where = f"Row {problem['row']}" + (f", column {problem['column']}" if problem["column"] else "")
    return f"{where}: {problem['message']}"


class GeneratedWeekMixin(WeekMixin):
    """A file belongs to a generated week: before that there are no lines to download or upload (404)."""

    def generated_week(self) -> ProviderWeek:
        week = self.get_week()
        if week is None:
            raise Http404("The week has not been generated")
        return week


class ClaimFormDownloadView(GeneratedWeekMixin, View):
    permission_required = permissions.VIEW_OWN_ACTUALS

    def get(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        provider_week = self.generated_week()
        data = claim_forms.claim_form_workbook(provider=self.provider, week=provider_week)
        response = HttpResponse(data, content_type=claim_forms.XLSX_CONTENT_TYPE)
        filename = claim_forms.claim_form_filename(provider=self.provider, week_start=week)
        response["Content-Disposition"] = (
            content_disposition_header(as_attachment=True, filename=filename) or ""
        )
        patch_cache_control(response, private=True, no_store=True)
        return response


class UploadView(UploadLimitMixin, GeneratedWeekMixin, View):
    """Choose a file; it is checked at once. A file that will not do is refused on this page; one that
    changes nothing says so; anything else goes to its preview. A file over the form's limit is refused
    while it arrives (portal/uploads.py): never stored, never read."""

    permission_required = permissions.RECORD_ACTUALS
    template_name = "actuals/claim_form_upload.html"
    form_class: type[FileUploadForm] = ClaimFormUploadForm
    preview_url_name = "claim_form_preview"

    def get_upload_max_bytes(self) -> int:
        return self.form_class.limit

    def check(self, *, week: ProviderWeek, file_name: str, data: bytes) -> CheckResult:
        return claim_forms.claim_form_check(
            provider=self.provider, week=week, by=self.user, file_name=file_name, data=data
        )

    def no_changes_text(self, result: CheckResult) -> str:
        return (
            f"No changes: the claim form's {result.rows} row{'s' if result.rows != 1 else ''} match your "
            "lines as they are."
        )

    def render_form(self, form: forms.Form, week: ProviderWeek) -> HttpResponse:
        context = {
            "form": form,
            "week": week,
            "week_start": week.week_start,
            "label": calendar.week_label(week.week_start),
        }
        return render(self.request, self.template_name, context)

    def get(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        return self.render_form(self.form_class(), self.generated_week())

    def post(self, request: HttpRequest, week: dt.date) -> HttpResponse:
        provider_week = self.generated_week()
        form = self.form_class(request.POST, request.FILES, too_big=self.upload_limit.exceeded)
        if form.is_valid():
            uploaded = form.cleaned_data["file"]
            try:
                result = self.check(week=provider_week, file_name=uploaded.name or "", data=uploaded.read())
            except UploadRefused as refused:
                form.add_error("file", str(refused))
            else:
                if result.upload is None:
                    messages.info(request, self.no_changes_text(result))
                    return HttpResponseRedirect(week_url(week))
                return HttpResponseRedirect(
                    reverse(self.preview_url_name, kwargs={"week": week, "upload": result.upload.pk})
                )
        return self.render_form(form, provider_week)


class PreviewView(WeekMixin, View):
    """What a checked upload would change (and, for a claim form, what stops it); POST applies it."""

    permission_required = permissions.RECORD_ACTUALS
    template_name = "actuals/claim_form_preview.html"
    kind = ActualsUpload.Kind.CLAIM_FORM
    upload_url_name = "claim_form_upload"

    def apply(self, *, upload_id: uuid.UUID) -> ApplyResult:
        return claim_forms.claim_form_apply(provider=self.provider, upload_id=upload_id, by=self.user)

    def applied_text(self, result: ApplyResult) -> str:
        return (
            f"Claim form applied: {result.lines} line{'s' if result.lines != 1 else ''} changed "
            f"({result.fields} value{'s' if result.fields != 1 else ''})."
        )

    def context(self, upload: ActualsUpload) -> dict[str, Any]:
        changes = claim_forms.claim_form_preview_changes(upload)
        shown = upload.problems[:SUMMARY_PROBLEMS]
        more = upload.problem_count - len(shown)
        lines = len(upload.changes)
        return {
            **paginate(self.request, changes, per_page=CHANGES_PER_PAGE),
            "summary_rows": [
                ("File", upload.file_name or "–", None),
                ("Rows read", upload.rows, None),
                ("Lines it changes", lines, None),
                ("Problems", upload.problem_count or "None", None),
            ],
            "change_count": len(changes),
            "line_count": lines,
            "apply_text": f"Apply the changes to {lines} line{'s' if lines != 1 else ''}",
            "problem_links": [
                (_problem_text(problem), f"#problem-{number}")
                for number, problem in enumerate(shown, start=1)
            ],
            "more_problems_text": f"{more} more problem{'s are' if more != 1 else ' is'} listed below"
            if more
            else "",
            "unshown_problems": upload.problem_count - len(upload.problems),
        }

    def get_upload(self) -> ActualsUpload:
        upload = claim_forms.upload_for_provider(
            provider=self.provider, upload_id=self.kwargs["upload"], kind=self.kind
        )
        if upload is None or upload.week.week_start != self.week_start:
            raise Http404("No such upload")
        return upload

    def render_preview(self, upload: ActualsUpload, form: forms.Form) -> HttpResponse:
        context = {
            "upload": upload,
            "form": form,
            "week_start": self.week_start,
            "label": calendar.week_label(self.week_start),
            **self.context(upload),
        }
        return render(self.request, self.template_name, context)

    def get(self, request: HttpRequest, week: dt.date, upload: uuid.UUID) -> HttpResponse:
        found = self.get_upload()
        if found.applied_at is not None:
            messages.info(request, "That upload has already been applied.")
            return HttpResponseRedirect(week_url(week))
        if found.expires_at <= clock.now():
            messages.info(
                request, "That upload has expired: upload the file again to check it against your lines."
            )
            return HttpResponseRedirect(reverse(self.upload_url_name, kwargs={"week": week}))
        return self.render_preview(found, UploadApplyForm())

    def post(self, request: HttpRequest, week: dt.date, upload: uuid.UUID) -> HttpResponse:
        found = self.get_upload()
        form = UploadApplyForm(request.POST)
        try:
            result = self.apply(upload_id=found.pk)
        except UploadNotFound as missing:
            raise Http404("No such upload") from missing
        except ActualsError as error:
            form.add_error(None, str(error))
            return self.render_preview(found, form)
        messages.success(request, self.applied_text(result))
        return HttpResponseRedirect(week_url(week))
