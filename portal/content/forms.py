"""The portal administrators' forms for notices and guidance pages (GOV.UK renderer: nothing typed is
lost). They only check what the fields are; the rules are the services'."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.content.services import GuidanceFields, NoticeFields
from portal.forms import GovukDateField
from portal.providers.models import Provider, ServiceType

MARKDOWN_HINT = (
    'Markdown: "## " starts a heading, "- " a bulleted list item, "1. " a numbered one, **bold**, '
    "[link text](https://…). A blank line starts a new paragraph. HTML is shown as text."
)
ALL_PROVIDERS = "all"


def _service_types() -> Any:
    return ServiceType.objects.order_by("name")


class _ContentForm(forms.Form):
    title = forms.CharField(
        label="Title",
        max_length=120,
        error_messages={
            "required": "Enter a title",
            "max_length": "The title must be 120 characters or fewer",
        },
    )
    body = forms.CharField(
        label="Text",
        help_text=MARKDOWN_HINT,
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 12}),
        error_messages={
            "required": "Enter the text",
            "max_length": "The text must be 20,000 characters or fewer",
        },
        strip=False,
    )
    revision = forms.IntegerField(widget=forms.HiddenInput, required=False)


class NoticeForm(_ContentForm):
    provider_kind = forms.ChoiceField(
        label="Who it is for",
        choices=[(ALL_PROVIDERS, "All providers"), *Provider.Kind.choices],
        widget=forms.RadioSelect,
        initial=ALL_PROVIDERS,
        error_messages={"required": "Select who the notice is for"},
    )
    service_type = forms.ModelChoiceField(
        label="Only providers with care of this service type (optional)",
        queryset=ServiceType.objects.none(),
        required=False,
        empty_label="Any service type",
        error_messages={"invalid_choice": "Select a service type from the list"},
    )
    shown_from = GovukDateField(label="First day shown", help_text="For example, 6 4 2026")
    shown_until = GovukDateField(
        label="Last day shown (optional)",
        required=False,
        help_text="Leave empty to show it until users dismiss it or you withdraw it",
    )

    field_order = ["title", "body", "provider_kind", "service_type", "shown_from", "shown_until"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_type"].queryset = _service_types()  # type: ignore[attr-defined]

    def notice_fields(self) -> NoticeFields:
        data = self.cleaned_data
        kind = data["provider_kind"]
        return NoticeFields(
            title=data["title"],
            body=data["body"],
            provider_kind="" if kind == ALL_PROVIDERS else kind,
            service_type=data["service_type"],
            shown_from=data["shown_from"],
            shown_until=data["shown_until"],
        )


class GuidancePageForm(_ContentForm):
    slug = forms.CharField(
        label="Web address (optional)",
        required=False,
        max_length=80,
        help_text="The end of the page's address, for example dos-and-donts. Leave empty to make one from the title.",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20", "spellcheck": "false"}),
        error_messages={"max_length": "The web address must be 80 characters or fewer"},
    )
    service_type = forms.ModelChoiceField(
        label="Service type (optional)",
        queryset=ServiceType.objects.none(),
        required=False,
        empty_label="None: guidance for every service",
        error_messages={"invalid_choice": "Select a service type from the list"},
    )
    order = forms.IntegerField(
        label="Order",
        help_text="Pages are listed with the lowest number first",
        min_value=0,
        max_value=9999,
        initial=0,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-4", "inputmode": "numeric"}),
        error_messages={
            "required": "Enter the order, for example 10",
            "invalid": "The order must be a whole number, for example 10",
            "min_value": "The order must be 0 or more",
            "max_value": "The order must be 9999 or less",
        },
    )
    published = forms.BooleanField(
        label="Published: providers can read it",
        required=False,
        help_text="Leave unticked to keep it a draft",
    )

    field_order = ["title", "slug", "body", "service_type", "order", "published"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_type"].queryset = _service_types()  # type: ignore[attr-defined]

    def guidance_fields(self) -> GuidanceFields:
        data = self.cleaned_data
        return GuidanceFields(
            title=data["title"],
            slug=data["slug"],
            body=data["body"],
            service_type=data["service_type"],
            published=data["published"],
            order=data["order"],
        )
