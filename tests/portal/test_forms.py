"""The GOV.UK form renderer: the date input component, its error messages, and nothing typed lost."""

from __future__ import annotations

import datetime as dt

from django import forms

from portal.forms import GovukDateField


class StartForm(forms.Form):
    start = GovukDateField(label="Start date", help_text="For example, 27 3 2026")


def test_a_real_date_is_read_from_three_boxes() -> None:
    form = StartForm({"start_day": "27", "start_month": "3", "start_year": "2026"})
    assert form.is_valid() and form.cleaned_data["start"] == dt.date(2026, 3, 27)


def test_gov_uk_messages_for_each_kind_of_bad_date() -> None:
    cases = {
        ("", "", ""): "Enter the start date",
        ("27", "", "2026"): "The start date must include a month",
        ("", "", "2026"): "The start date must include a day and month",
        ("31", "2", "2026"): "The start date must be a real date",
        ("1", "1", "26"): "The start date must be a real date",
        ("x", "1", "2026"): "The start date must be a real date",
    }
    for (day, month, year), message in cases.items():
        form = StartForm({"start_day": day, "start_month": month, "start_year": year})
        assert not form.is_valid()
        assert form.errors["start"] == [message], (day, month, year)


def test_the_component_renders_the_boxes_the_error_and_what_was_typed() -> None:
    html = str(StartForm({"start_day": "31", "start_month": "2", "start_year": "2026"}))
    assert 'class="govuk-date-input"' in html and "govuk-fieldset" in html
    assert html.count("govuk-date-input__item") == 3
    for label in ("Day", "Month", "Year"):
        assert f">{label}</label>" in html
    assert 'name="start_day"' in html and 'value="31"' in html and 'value="2026"' in html
    assert "govuk-input--error" in html and "must be a real date" in html
    assert 'aria-describedby="id_start-hint id_start-error"' in html
