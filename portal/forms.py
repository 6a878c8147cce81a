"""The GOV.UK form renderer: every Django form renders as GOV.UK Frontend markup.

The error summary sits at the top of the page (components/error_summary.html); each field shows its own
message; the layout prefixes the title with "Error: "; bound values are re-rendered, so nothing the
user typed is lost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.forms.renderers import TemplatesSetting


class GovukFormRenderer(TemplatesSetting):
    form_template_name = "components/forms/form.html"
    field_template_name = "components/forms/field.html"


class GovukDateWidget(forms.MultiWidget):
    """GOV.UK's date input: day, month and year boxes (components/date_input.html)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        numeric = {"inputmode": "numeric", "spellcheck": "false"}
        super().__init__(
            widgets={
                "day": forms.TextInput(numeric),
                "month": forms.TextInput(numeric),
                "year": forms.TextInput(numeric),
            },
            attrs=attrs,
        )

    def decompress(self, value: dt.date | None) -> list[Any]:
        return [value.day, value.month, value.year] if value else [None, None, None]


class GovukDateField(forms.MultiValueField):
    """A date from three boxes, with GOV.UK's error messages; what was typed is kept on error."""

    widget = GovukDateWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault(
            "required", f"Enter the {str(kwargs.get('label', 'date')).lower()}"
        )
        super().__init__(
            fields=(
                forms.CharField(required=False),
                forms.CharField(required=False),
                forms.CharField(required=False),
            ),
            require_all_fields=False,
            **kwargs,
        )

    def compress(self, data_list: list[str]) -> dt.date | None:
        if not data_list or not any(data_list):
            return None
        name = str(self.label or "date").lower()
        parts = dict(zip(("day", "month", "year"), data_list, strict=False))
        missing = [part for part, value in parts.items() if not value]
        if missing:
            raise forms.ValidationError(f"The {name} must include a {' and '.join(missing)}")
        try:
            day, month, year = (int(parts[p]) for p in ("day", "month", "year"))
            if year < 1000:
                raise ValueError
            return dt.date(year, month, day)
        except ValueError as error:
            raise forms.ValidationError(f"The {name} must be a real date") from error
