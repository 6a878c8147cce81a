"""Forms of threads: a query, a payment dispute, a reply (each with attachments), reopening, and the
council's assignment, answer and outcome. They check shape; the rules are the services'."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.core.files.uploadedfile import UploadedFile

from actuals.forms_council import REASON_MAX, LineVersionsField
from actuals.models import ActualLine
from actuals.services import LineValues
from disputes.models import Team, Thread
from disputes.services import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENTS_MAX,
    MESSAGE_MAX,
    SUBJECT_MAX,
    Upload,
    is_about_invoice,
    is_about_payment,
)
from disputes.services_council import CLEAR, CONFIRM
from portal.accounts.models import User
from portal.forms import GovukDateField
from portal.providers.models import Provider, ServiceUser

ATTACHMENTS_HINT = (
    f"Up to {ATTACHMENTS_MAX} files: PDF, PNG, JPEG, GIF or Excel (.xlsx), each smaller than "
    f"{ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB."
)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Attach files (optional)")
        kwargs.setdefault("help_text", ATTACHMENTS_HINT)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data] if data else []
        return [super(AttachmentsField, self).clean(item, initial) for item in files if item]


class WithAttachments(forms.Form):
    """`too_big`: the upload handler refused a file as it arrived (portal/uploads.py)."""

    attachments = AttachmentsField()

    def __init__(self, *args: Any, too_big: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.too_big = too_big

    def clean_attachments(self) -> list[UploadedFile]:
        files = self.cleaned_data["attachments"]
        if self.too_big:
            raise forms.ValidationError(
                f"Each file must be smaller than {ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB, and at most "
                f"{ATTACHMENTS_MAX} files together"
            )
        if len(files) > ATTACHMENTS_MAX:
            raise forms.ValidationError(f"Attach at most {ATTACHMENTS_MAX} files")
        return files

    def uploads(self) -> list[Upload]:
        return [
            Upload(name=f.name or "file", data=f.read()) for f in self.cleaned_data.get("attachments", [])
        ]


def _message_field(label: str = "Message") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        error_messages={
            "required": "Enter your message",
            "max_length": f"The message must be {MESSAGE_MAX:,} characters or fewer",
        },
    )


class QueryTypeForm(forms.Form):
    query_type = forms.ChoiceField(
        label="What is your query about?",
        choices=Thread.QueryType.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Select what your query is about"},
    )


class QueryForm(WithAttachments):
    subject = forms.CharField(
        label="Subject",
        max_length=SUBJECT_MAX,
        error_messages={
            "required": "Enter a subject",
            "max_length": f"The subject must be {SUBJECT_MAX} characters or fewer",
        },
    )
    person = forms.ModelChoiceField(
        label="Who is it about? (optional)",
        queryset=ServiceUser.objects.none(),
        required=False,
        empty_label="Nobody in particular",
    )
    body = _message_field()

    field_order = ["subject", "person", "body", "attachments"]

    def __init__(self, *args: Any, provider: Provider, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["person"]).queryset = ServiceUser.objects.for_provider(
            provider
        ).order_by("name")


class ServiceEndedForm(WithAttachments):
    person = forms.ModelChoiceField(
        label="Who is it about?",
        queryset=ServiceUser.objects.none(),
        empty_label="Choose the person",
        error_messages={"required": "Choose the person", "invalid_choice": "Choose the person"},
    )
    what = forms.ChoiceField(
        label="What happened?",
        choices=[("died", "The person died"), ("ended", "The service ended")],
        widget=forms.RadioSelect,
        error_messages={"required": "Select whether the person died or the service ended"},
    )
    on = GovukDateField(label="On what date?", help_text="For example, 27 11 2026")
    body = _message_field("Anything the council should know")

    field_order = ["person", "what", "on", "body", "attachments"]

    def __init__(self, *args: Any, provider: Provider, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["person"]).queryset = ServiceUser.objects.for_provider(
            provider
        ).order_by("name")


class PaymentDisputeForm(WithAttachments):
    claimed_amount = forms.DecimalField(
        label="How much are you owed?",
        help_text="In pounds, for example 52.50",
        min_value=Decimal("0.01"),
        max_value=Decimal("100000"),
        decimal_places=2,
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "spellcheck": "false", "class": "govuk-input--width-10"}
        ),
        error_messages={
            "required": "Enter how much you are owed",
            "invalid": "Enter the amount in pounds, like 52.50",
            "min_value": "The amount must be at least £0.01",
            "max_value": "The amount must be £100,000 or less",
            "max_decimal_places": "Enter the amount in pounds and pence, like 52.50",
        },
    )
    body = _message_field("Why is the payment wrong?")

    field_order = ["claimed_amount", "body", "attachments"]


class ReplyForm(WithAttachments):
    body = _message_field("Your reply")

    field_order = ["body", "attachments"]


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter the reason"},
    )


class AnswerForm(forms.Form):
    reason = forms.CharField(
        label="Your answer",
        help_text="The provider reads it; the query is then resolved.",
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Enter the answer"},
    )


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        label="Assign to", queryset=User.objects.none(), required=False, empty_label="Nobody"
    )

    def __init__(self, *args: Any, team: Team, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["assignee"])
        field.queryset = team.members.filter(is_active=True).order_by("full_name", "email")
        field.label_from_instance = lambda user: user.get_full_name() or user.email  # type: ignore[method-assign, assignment]


OUTCOME_CHOICES = [
    (Thread.Outcome.WITHDRAWN, "Withdrawn: the council drops its challenge"),
    (Thread.Outcome.UPHELD, "Upheld: the challenge stands"),
    (Thread.Outcome.ADJUSTED, "Adjusted: agreed figures"),
]
PAYMENT_OUTCOME_CHOICES = [
    (Thread.Outcome.UPHELD, "Upheld: the provider is right, pay what they claimed"),
    (Thread.Outcome.ADJUSTED, "Adjusted: the provider is partly right, pay the agreed amount"),
    (Thread.Outcome.WITHDRAWN, "Withdrawn: nothing is paid"),
]
LINE_FIELDS = ("delivered", "frustrated", "missed", "extra")


INVOICE_OUTCOME_CHOICES = [
    (Thread.Outcome.WITHDRAWN, "Withdrawn: the council drops its challenge, the invoice is paid as sent"),
    (Thread.Outcome.UPHELD, "Upheld: the challenge stands, nothing is paid for the invoice"),
    (Thread.Outcome.ADJUSTED, "Adjusted: the council pays the agreed amount for the invoice"),
]
# Agreed quantities are typed for each line of the dispute (five fields a line): above this, a page would
# pass Django's limit on the fields of a request (DATA_UPLOAD_MAX_NUMBER_FIELDS, 1,000).
ADJUSTED_LINES_MAX = 100


class OutcomeForm(forms.Form):
    """A dispute's outcome. About lines, "adjusted" takes the agreed quantities of each line (a dispute of
    at most ADJUSTED_LINES_MAX lines); about a payment, the agreed amount; about an invoice, the agreed
    amount for the invoice in all."""

    outcome = forms.ChoiceField(
        label="Outcome", widget=forms.RadioSelect, error_messages={"required": "Select the outcome"}
    )
    reason = forms.CharField(
        label="Reason",
        help_text="Kept with the dispute; the provider reads it.",
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Enter the reason for the outcome"},
    )
    amount = forms.DecimalField(
        label="Agreed amount (for an adjusted outcome)",
        help_text="In pounds; negative to recover money",
        required=False,
        decimal_places=2,
        max_digits=10,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "govuk-input--width-10"}),
        error_messages={"invalid": "Enter the amount in pounds, like 52.50"},
    )

    def __init__(self, *args: Any, thread: Thread, lines: list[ActualLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.about_payment = is_about_payment(thread)
        self.about_invoice = not self.about_payment and is_about_invoice(thread)
        self.too_many_lines = len(lines) > ADJUSTED_LINES_MAX
        about_money = self.about_payment or self.about_invoice
        self.lines = [] if about_money or self.too_many_lines else lines
        choices = PAYMENT_OUTCOME_CHOICES if self.about_payment else OUTCOME_CHOICES
        if self.about_invoice:
            choices = INVOICE_OUTCOME_CHOICES
        elif self.too_many_lines and not about_money:
            choices = [choice for choice in choices if choice[0] != Thread.Outcome.ADJUSTED]
        cast(forms.ChoiceField, self.fields["outcome"]).choices = choices
        if self.about_invoice:
            amount = cast(forms.DecimalField, self.fields["amount"])
            amount.label = "Agreed amount for the invoice (for an adjusted outcome)"
            amount.help_text = "In pounds: what the council pays for the invoice in all"
        elif not about_money:
            del self.fields["amount"]
        for line in self.lines:
            self.fields[f"version_{line.pk}"] = forms.IntegerField(
                widget=forms.HiddenInput, initial=line.version, required=False
            )
            for name in LINE_FIELDS:
                self.fields[f"{name}_{line.pk}"] = forms.DecimalField(
                    label=f"{name.capitalize()}, {line.care_package_line.service_user.name}",
                    required=False,
                    min_value=0,
                    decimal_places=2,
                    max_digits=8,
                    initial=getattr(line, name),
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "govuk-input--width-5"}),
                    error_messages={"invalid": "Enter a number, like 7.5", "min_value": "Enter 0 or more"},
                )

    def line_rows(self) -> list[tuple[ActualLine, list[Any]]]:
        return [(line, [self[f"{name}_{line.pk}"] for name in LINE_FIELDS]) for line in self.lines]

    def versions(self) -> dict[int, int]:
        """The version of each line the page showed (a correction made meanwhile is not overwritten)."""
        return {line.pk: self.cleaned_data.get(f"version_{line.pk}") or line.version for line in self.lines}

    def quantities(self) -> dict[int, LineValues]:
        agreed = {}
        for line in self.lines:
            values = {name: self.cleaned_data.get(f"{name}_{line.pk}") for name in LINE_FIELDS}
            given = {name: getattr(line, name) if value is None else value for name, value in values.items()}
            agreed[line.pk] = LineValues(
                given["delivered"],
                given["frustrated"],
                given["missed"],
                given["extra"],
                line.adjustment_form_ref,
                line.comment or "Agreed in the dispute",
            )
        return agreed

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        adjusted = data.get("outcome") == Thread.Outcome.ADJUSTED
        if self.about_payment and adjusted and data.get("amount") in (None, 0):
            self.add_error("amount", "Enter the agreed amount")
        if self.about_invoice and adjusted and data.get("amount") is None:
            self.add_error("amount", "Enter the agreed amount for the invoice")
        return data


class CouncilThreadForm(WithAttachments):
    provider = forms.ModelChoiceField(
        label="Provider",
        queryset=Provider.objects.filter(portal_enabled=True).order_by("name"),
        to_field_name="ref",
        empty_label="Choose the provider",
        error_messages={"required": "Choose the provider", "invalid_choice": "Choose the provider"},
    )
    team = forms.ModelChoiceField(
        label="From the team",
        queryset=Team.objects.order_by("name"),
        to_field_name="code",
        empty_label="Choose your team",
        error_messages={"required": "Choose the team"},
    )
    subject = forms.CharField(
        label="Subject", max_length=SUBJECT_MAX, error_messages={"required": "Enter a subject"}
    )
    body = _message_field()

    field_order = ["provider", "team", "subject", "body", "attachments"]


class TeamForm(forms.Form):
    email = forms.EmailField(
        label="Shared mailbox",
        required=False,
        help_text="Told of every new thread and reply for the team (as well as its members, or the assignee)",
        error_messages={"invalid": "Enter an email address like payments@council.example"},
    )
    members = forms.ModelMultipleChoiceField(
        label="Members",
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelMultipleChoiceField, self.fields["members"])
        field.queryset = (
            User.objects.exclude(council_role="").filter(is_active=True).order_by("full_name", "email")
        )
        field.label_from_instance = lambda user: (  # type: ignore[method-assign, assignment]
            f"{user.get_full_name() or user.email} ({user.get_council_role_display()})"
        )


def _dispute_reason_field() -> forms.CharField:
    return forms.CharField(
        label="Reason for the dispute",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Say what is wrong and what you need from the provider: they read it as the dispute's first message.",
        error_messages={
            "required": "Enter the reason for the dispute",
            "max_length": f"The reason must be {REASON_MAX:,} characters or fewer",
        },
    )


class LinesDisputeForm(forms.Form):
    """A finance officer's dispute on a provider's week (the council's week page): the lines ticked (each
    `line:version`, as the review queue does) or the whole week (with the fingerprint of what the page
    showed), and the reason."""

    LINES = "lines"
    WEEK = "week"

    about = forms.ChoiceField(
        label="What is the dispute about?",
        widget=forms.RadioSelect,
        choices=[(LINES, "The lines I selected"), (WEEK, "The whole week")],
        error_messages={
            "required": "Select whether the dispute is about the lines you selected or the whole week"
        },
    )
    lines = LineVersionsField(label="Lines", required=False)
    fingerprint = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    reason = _dispute_reason_field()

    field_order = ["lines", "about", "reason", "fingerprint"]

    def __init__(self, *args: Any, whole_week: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["about"]).choices = [
            (self.LINES, "The lines I selected"),
            (self.WEEK, f"The whole week: all {whole_week} confirmed line{'' if whole_week == 1 else 's'}"),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("about") == self.LINES and not data.get("lines"):
            self.add_error("lines", "Select at least one line, or choose the whole week")
        return data


class InvoiceDisputeForm(forms.Form):
    reason = _dispute_reason_field()


DEATH_DECISIONS = [
    (CONFIRM, "Confirm the death: every provider's later lines for the person are flagged"),
    (CLEAR, "Clear the report: it was made in error, and no lines are flagged for it"),
]


class DeathDecisionForm(forms.Form):
    """The council's word on a death reported in a query: confirmed, or cleared as reported in error, with
    the answer the provider reads (the query is then resolved)."""

    decision = forms.ChoiceField(
        label="What do you want to do?",
        widget=forms.RadioSelect,
        choices=DEATH_DECISIONS,
        error_messages={"required": "Select whether to confirm the death or clear the report"},
    )
    answer = forms.CharField(
        label="Message to the provider",
        help_text="Sent with your decision; the query is then resolved.",
        max_length=MESSAGE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={
            "required": "Enter your message to the provider",
            "max_length": f"The message must be {MESSAGE_MAX:,} characters or fewer",
        },
    )

    def __init__(self, *args: Any, can_confirm: bool = True, can_clear: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        allowed = {CONFIRM: can_confirm, CLEAR: can_clear}
        cast(forms.ChoiceField, self.fields["decision"]).choices = [
            (value, label) for value, label in DEATH_DECISIONS if allowed[value]
        ]
