"""Forms of the invoice wizard's pages and of an expense claim. They check shape (a date is a date, a file
came); the rules are the services' (`remittances.services_invoices`), whose messages the views put on the
field they are about."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile

from portal.forms import GovukDateField
from portal.providers.models import CarePackageLine, ServiceUser
from remittances.models_invoices import ExpenseClaim
from remittances.services_invoices import RECEIPT_MAX_BYTES, long_date


def placement_label(line: CarePackageLine) -> str:
    when = f"from {long_date(line.start_date)}"
    if line.end_date:
        when += f" to {long_date(line.end_date)}"
    return f"{line.service_user.name} ({line.service_user.ref}): {line.service_type.name} {when}"


class PlacementForm(forms.Form):
    line = forms.ChoiceField(
        label="Child and placement",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select the child and placement the invoice is for",
            "invalid_choice": "Select the child and placement the invoice is for",
        },
    )

    def __init__(self, *args: Any, placements: Iterable[CarePackageLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(line.ref, placement_label(line)) for line in placements]
        self.fields["line"].choices = choices  # type: ignore[attr-defined]


class PeriodForm(forms.Form):
    period_start = GovukDateField(label="Start of the period", help_text="For example, 1 3 2026")
    period_end = GovukDateField(label="End of the period", help_text="For example, 31 3 2026")


class NumberForm(forms.Form):
    number = forms.CharField(
        label="Your invoice number",
        help_text="Your own reference for this invoice, as in your records. Each invoice needs a number of "
        "its own.",
        required=False,  # the service says what is wrong with it, empty included
        max_length=200,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
    )


class LineForm(forms.Form):
    """One line to add. Both fields may be empty when the provider only continues."""

    description = forms.CharField(
        label="Description",
        help_text="What the line is for, as on your invoice.",
        required=False,
        max_length=1000,
    )
    quantity = forms.CharField(
        label="Quantity",
        required=False,
        max_length=50,
        widget=forms.TextInput(
            attrs={"class": "govuk-input--width-5", "inputmode": "decimal", "spellcheck": "false"}
        ),
    )

    @property
    def is_empty(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not (data.get("description", "").strip() or data.get("quantity", "").strip())


class ExpenseClaimForm(forms.Form):
    """An expense claim. The receipt comes last: a file refused while it arrives (too big) stops the
    reading of the body, and every field before it is still read (portal/uploads.py)."""

    category = forms.ChoiceField(
        label="What was the expense for?",
        choices=ExpenseClaim.Category.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select what the expense was for",
            "invalid_choice": "Select what the expense was for",
        },
    )
    incurred_on = GovukDateField(label="Date of the expense", help_text="For example, 27 11 2026")
    amount = forms.CharField(
        label="Amount, in pounds",
        help_text="For example, 12.50",
        max_length=50,
        widget=forms.TextInput(
            attrs={"class": "govuk-input--width-10", "inputmode": "decimal", "spellcheck": "false"}
        ),
        error_messages={"required": "Enter the amount"},
    )
    description = forms.CharField(
        label="Description",
        help_text="What you bought or the journey you made (for mileage: from, to and the miles).",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter a description of the expense"},
    )
    child = forms.ChoiceField(label="Which child is it for? (optional)", required=False)
    receipt = forms.FileField(
        label="Receipt",
        help_text=f"A PDF, or a photo or scan (PNG, JPEG or GIF), smaller than "
        f"{RECEIPT_MAX_BYTES // (1024 * 1024)} MB. Not needed for mileage.",
        required=False,
        widget=forms.FileInput(
            attrs={"accept": ".pdf,.png,.jpg,.jpeg,.gif,application/pdf,image/png,image/jpeg,image/gif"}
        ),
        error_messages={"empty": "The selected receipt is empty", "invalid": "Select the receipt to upload"},
    )

    def __init__(
        self, *args: Any, children: Iterable[ServiceUser], too_big: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.too_big = too_big
        self.fields["child"].choices = [("", "Not about one child")] + [  # type: ignore[attr-defined]
            (child.ref, f"{child.name} ({child.ref})") for child in children
        ]
        self.fields["child"].error_messages["invalid_choice"] = (
            "Select one of the children placed with you, or none"
        )

    def clean_receipt(self) -> UploadedFile | None:
        receipt: UploadedFile | None = self.cleaned_data.get("receipt")
        if self.too_big or (receipt is not None and (receipt.size or 0) > RECEIPT_MAX_BYTES):
            raise forms.ValidationError(
                f"The receipt must be smaller than {RECEIPT_MAX_BYTES // (1024 * 1024)} MB"
            )
        return receipt
