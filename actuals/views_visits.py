"""The electronic call monitoring import: upload a CSV of visits, see the hours each line would get and
the visits that match no line, apply it. The same shape as the claim form's views."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from actuals import visits
from actuals.claim_forms import ApplyResult, CheckResult
from actuals.forms_uploads import FileUploadForm, VisitsUploadForm
from actuals.models import ActualsUpload, ProviderWeek
from actuals.views_claim_forms import PreviewView, UploadView


class VisitsUploadView(UploadView):
    template_name = "actuals/visits_upload.html"
    form_class: type[FileUploadForm] = VisitsUploadForm
    preview_url_name = "visits_preview"

    def check(self, *, week: ProviderWeek, file_name: str, data: bytes) -> CheckResult:
        return visits.visits_check(
            provider=self.provider, week=week, by=self.user, file_name=file_name, data=data
        )

    def no_changes_text(self, result: CheckResult) -> str:
        return (
            f"No changes: the {result.rows} visit{'s' if result.rows != 1 else ''} in the file give the "
            "delivered hours your lines already have."
        )


class VisitsPreviewView(PreviewView):
    template_name = "actuals/visits_preview.html"
    kind = ActualsUpload.Kind.VISITS
    upload_url_name = "visits_upload"

    def apply(self, *, upload_id: uuid.UUID) -> ApplyResult:
        return visits.visits_apply(provider=self.provider, upload_id=upload_id, by=self.user)

    def applied_text(self, result: ApplyResult) -> str:
        return (
            f"Visits applied: delivered hours set on {result.lines} line{'s' if result.lines != 1 else ''}."
        )

    def context(self, upload: ActualsUpload) -> dict[str, Any]:
        lines = [
            {**line, **{name: Decimal(line[name]) for name in ("planned", "current", "computed")}}
            for line in upload.changes
        ]
        to_change = sum(1 for line in lines if line["change"])
        matched = sum(line["visits"] for line in lines)
        return {
            "lines": lines,
            "to_change": to_change,
            "summary_rows": [
                ("File", upload.file_name or "–", None),
                ("Visits read", upload.rows, None),
                ("Visits matched to a line", matched, None),
                ("Visits that match no line", upload.problem_count or "None", None),
                ("Lines whose delivered hours change", to_change, None),
            ],
            "apply_text": f"Set delivered on {to_change} line{'s' if to_change != 1 else ''}",
            "unshown_unmatched": upload.problem_count - len(upload.problems),
        }
