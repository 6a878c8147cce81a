"""Forms of the file uploads: a filled-in claim form and a file of call monitoring visits. They check
only that a file came and is not too big to read; what is in it is the services' to judge
(`actuals.claim_forms`, `actuals.visits`), which never trust the file's name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from actuals.claim_forms import MAX_UPLOAD_BYTES, XLSX_CONTENT_TYPE
from actuals.visits import MAX_VISITS_BYTES


class FileUploadForm(forms.Form):
    """One file of at most `limit` bytes. `too_big`: the upload handler refused the file as it arrived
    (portal/uploads.py), so it is not in the data: the same error as a file found too big here."""

    limit = MAX_UPLOAD_BYTES
    what = "file"
    file = forms.FileField()

    def __init__(self, *args: Any, too_big: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.too_big = too_big
        if too_big:
            self.fields["file"].required = False  # so that clean_file gives the reason, not "Select"

    def clean_file(self) -> UploadedFile | None:
        uploaded: UploadedFile | None = self.cleaned_data["file"]
        if self.too_big or (
            uploaded is not None and uploaded.size is not None and uploaded.size > self.limit
        ):
            raise forms.ValidationError(
                f"The {self.what} must be smaller than {self.limit // (1024 * 1024)} MB"
            )
        return uploaded


class ClaimFormUploadForm(FileUploadForm):
    what = "claim form"
    file = forms.FileField(
        label="Upload your claim form",
        help_text="The claim form you downloaded for this week, filled in and saved as an Excel workbook "
        "(.xlsx), smaller than 5 MB.",
        widget=forms.FileInput(attrs={"accept": f".xlsx,{XLSX_CONTENT_TYPE}"}),
        error_messages={
            "required": "Select the claim form to upload",
            "empty": "The selected file is empty",
            "invalid": "Select the claim form to upload",
        },
    )


class VisitsUploadForm(FileUploadForm):
    limit = MAX_VISITS_BYTES
    what = "file of visits"
    file = forms.FileField(
        label="Upload a file of visits",
        help_text="A CSV file (UTF-8) from your rostering system with the columns client reference, date, "
        "start, end and carer, smaller than 5 MB.",
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv"}),
        error_messages={
            "required": "Select the file of visits to upload",
            "empty": "The selected file is empty",
            "invalid": "Select the file of visits to upload",
        },
    )


class UploadApplyForm(forms.Form):
    """Applying a previewed upload: no fields, only the errors of a refusal (shown in the summary)."""
