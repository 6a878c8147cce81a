"""Forms of the council's side of the weekly cycle: the review decision (one line or several), the
deadline tracker's week and state, reminders, and closure days."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from actuals import calendar
from actuals.reminders import DeadlineState
from portal.forms import GovukDateField

REASON_MAX = 2000


class ReviewDecisionForm(forms.Form):
    """Approve a held line (it goes on to the back office) or raise a dispute (it goes back to the
    provider); a reason either way."""

    APPROVE = "approve"
    DISPUTE = "dispute"

    decision = forms.ChoiceField(
        label="What do you want to do?",
        widget=forms.RadioSelect,
        choices=[
            (APPROVE, "Approve: send the line to the back office as the provider confirmed it"),
            (DISPUTE, "Raise a dispute: the line goes back to the provider and is not sent"),
        ],
        error_messages={"required": "Select whether to approve or raise a dispute"},
    )
    reason = forms.CharField(
        label="Reason",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Kept in the line's history. For a dispute, say what is wrong: the provider reads it.",
        error_messages={
            "required": "Enter the reason for your decision",
            "max_length": f"The reason must be {REASON_MAX:,} characters or fewer",
        },
    )


class LineVersionsField(forms.Field):
    """The lines ticked on the review list, each as `line:version` (the page renders the checkboxes, one
    a row): the decision is refused if a line was corrected after the page showed it."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": "Select at least one line",
        "invalid": "The lines chosen are not valid: select them again",
    }

    def to_python(self, value: Any) -> dict[int, int]:
        if not value:
            return {}
        try:
            pairs = [str(item).split(":") for item in value]
            return {int(line): int(version) for line, version in pairs}
        except (TypeError, ValueError) as error:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from error


class LineReviewForm(ReviewDecisionForm):
    """The decision on one line, at the version the page showed."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class BulkReviewForm(ReviewDecisionForm):
    lines = LineVersionsField(label="Lines")

    field_order = ["lines", "decision", "reason"]


def _parse_week(value: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as error:
        raise forms.ValidationError("Choose a week from the list") from error
    if not calendar.is_week_start(day):
        raise forms.ValidationError("A week starts on a Monday: choose a week from the list")
    return day


class DeadlineFilterForm(forms.Form):
    """The tracker's week (any Monday; the list offers the recent ones) and the state shown."""

    WEEKS_BACK = 26

    week = forms.CharField(label="Week", required=False, widget=forms.Select)
    state = forms.ChoiceField(
        label="Show",
        required=False,
        choices=[("", "All providers"), *DeadlineState.choices],
        error_messages={"invalid_choice": "Choose what to show from the list"},
    )

    def __init__(self, *args: Any, due: dt.date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.due = due
        weeks = [due + dt.timedelta(weeks=n) for n in range(1, -self.WEEKS_BACK, -1)]
        asked = self.data.get("week", "") if self.is_bound else ""
        try:
            chosen = _parse_week(asked) if asked else due
        except forms.ValidationError:
            chosen = due
        if chosen not in weeks:
            weeks = sorted({*weeks, chosen}, reverse=True)
        choices = [
            (week.isoformat(), f"{calendar.week_label(week)}{' (due now)' if week == due else ''}")
            for week in weeks
        ]
        self.fields["week"].widget.choices = choices  # type: ignore[attr-defined]
        for field in self.fields.values():
            field.widget.attrs["class"] = "govuk-!-width-full"
        self.initial.setdefault("week", due.isoformat())

    def clean_week(self) -> dt.date:
        value = (self.cleaned_data.get("week") or "").strip()
        return _parse_week(value) if value else self.due

    def chosen_week(self) -> dt.date:
        """The week asked for when valid; otherwise the week due."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["week"]
        return self.cleaned_data.get("week", self.due) if self.is_bound else self.due

    def chosen_state(self) -> str:
        if self.is_bound and self.is_valid():
            return self.cleaned_data["state"]
        return ""


class RemindersForm(forms.Form):
    """The confirmation of a reminder run: the week, and the run's name fixed when the page was shown."""

    week = forms.CharField(widget=forms.HiddenInput)
    run = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def clean_week(self) -> dt.date:
        return _parse_week(self.cleaned_data["week"])


class ClosureDayForm(forms.Form):
    date = GovukDateField(
        label="Date the council is closed",
        help_text="For example, 25 12 2026",
    )
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="For example, Christmas Day",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-20"}),
        error_messages={
            "required": "Enter the name of the closure day",
            "max_length": "The name must be 100 characters or fewer",
        },
    )
