"""Forms of the weekly cycle. Quantities are checked here only for being numbers; whether they are in
the service type's step, or need a comment, is the rules engine's (a blocking exception on the saved
line), so nothing the provider typed is ever thrown away."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from actuals.rules import records_absence_as_frustrated
from actuals.services import LineValues
from portal.providers.models import ServiceType

MAX_QUANTITY = Decimal("9999.99")


def quantity_field(label: str, unit: str) -> forms.DecimalField:
    words = label.lower()
    return forms.DecimalField(
        label=f"{label} ({unit})",
        min_value=Decimal("0"),
        max_value=MAX_QUANTITY,
        max_digits=6,
        decimal_places=2,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "spellcheck": "false", "class": "govuk-input--width-5"}
        ),
        error_messages={
            "required": f"Enter the {words} {unit}, or 0",
            "invalid": f"{label} must be a number, like 7.25",
            "min_value": f"{label} must be 0 or more",
            "max_value": f"{label} must be {MAX_QUANTITY} or less",
            "max_digits": f"{label} must be {MAX_QUANTITY} or less",
            "max_decimal_places": f"{label} must have no more than 2 decimal places",
            "max_whole_digits": f"{label} must be {MAX_QUANTITY} or less",
        },
    )


class LineAmendForm(forms.Form):
    delivered = forms.DecimalField()  # replaced in __init__ with the unit in its label
    frustrated = forms.DecimalField()
    missed = forms.DecimalField()
    extra = forms.DecimalField()
    adjustment_form_ref = forms.CharField(
        label="Adjustment form reference",
        required=False,
        max_length=64,
        help_text="The reference of the accepted request for adjustment, if you are claiming extras.",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10", "spellcheck": "false"}),
        error_messages={"max_length": "The adjustment form reference must be 64 characters or fewer"},
    )
    comment = forms.CharField(
        label="Comment",
        required=False,
        max_length=2000,
        help_text="Needed whenever the line differs from plan: say what happened.",
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"max_length": "The comment must be 2,000 characters or fewer"},
    )
    revision = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, service_type: ServiceType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service_type = service_type
        unit = service_type.get_unit_display()
        step = f"In steps of {service_type.step.normalize():f} {unit}."
        for name, label, hint in (
            ("delivered", "Delivered", step),
            ("frustrated", "Frustrated", "Cancelled by or for the person at short notice."),
            ("missed", "Missed", "The provider could not deliver it."),
            ("extra", "Extra", "Delivered beyond the plan, with an accepted adjustment."),
        ):
            self.fields[name] = quantity_field(label, unit)
            self.fields[name].help_text = hint
        if not service_type.allows_extras:
            del self.fields["extra"], self.fields["adjustment_form_ref"]
        if records_absence_as_frustrated(service_type):
            del self.fields["missed"]
            self.fields["frustrated"].help_text = "Sessions the person did not attend."

    def values(self, current: LineValues) -> LineValues:
        """The form's values, with what the service type does not record kept as it is."""
        data = self.cleaned_data
        return LineValues(
            delivered=data["delivered"],
            frustrated=data["frustrated"],
            missed=data.get("missed", current.missed),
            extra=data.get("extra", current.extra),
            adjustment_form_ref=data.get("adjustment_form_ref", current.adjustment_form_ref),
            comment=data["comment"],
        )


class LineCorrectForm(LineAmendForm):
    reason = forms.CharField(
        label="Why are you correcting this line?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A line can be corrected once, while it is unpaid. The council sees your reason.",
        error_messages={
            "required": "Enter the reason for the correction",
            "max_length": "The reason must be 2,000 characters or fewer",
        },
    )


class AcknowledgeForm(forms.Form):
    reason = forms.CharField(
        label="Why is the line right as it is?",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A finance officer reviews the line with your reason after you confirm the week.",
        error_messages={
            "required": "Enter the reason the line is right as it is",
            "max_length": "The reason must be 2,000 characters or fewer",
        },
    )


class DeclarationForm(forms.Form):
    declaration = forms.BooleanField(
        label=(
            "I am confirming that all payments and amendments are correct. "
            "My payment will be based on what I have submitted."
        ),
        error_messages={"required": "Confirm that all payments and amendments are correct"},
    )


class NilReturnForm(forms.Form):
    declaration = forms.BooleanField(
        label="I am confirming that no service was delivered to anyone this week.",
        error_messages={"required": "Confirm that no service was delivered this week"},
    )
