"""The reports' filters: plain GET forms rendered through the GOV.UK renderer.

A report's form is always bound: to the query string over the report's defaults, so the first visit
shows the default report and a bad value shows an error (with the rest as typed). What a form took is
kept as a report request's `filters` (strings, as a query string would carry them), so a worker rebuilds
the same report from the same form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from django import forms
from django.conf import settings

from actuals import calendar
from disputes.models import Team, Thread
from portal import clock
from portal.providers.models import Provider, ServiceType
from reports import periods
from reports.selectors import GROUPINGS

MAX_WEEKS = 53
MAX_MONTHS = 24
MAX_PERIODS = 26


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


class ReportForm(forms.Form):
    """A report's filters. `defaults()` are what an unfiltered visit shows; `describe()` says in words
    what was chosen (the tables' caption, the files' header)."""

    def __init__(self, data: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        given = {key: value for key, value in (data or {}).items() if key in self.base_fields}
        missing = set(self.base_fields) - set(given)
        super().__init__({**(self.defaults(missing) if missing else {}), **given}, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "govuk-!-width-full")

    @classmethod
    def defaults(cls, missing: set[str] | None = None) -> dict[str, str]:
        """The values of an unfiltered visit (those of `missing` at least: a default that needs a query
        is computed only when its field is missing)."""
        return {}

    def filters(self) -> dict[str, str]:
        """The filters as strings (valid forms only): a report request keeps them."""
        return {name: str(self.data.get(name, "") or "") for name in self.fields}

    @property
    def has_fields(self) -> bool:
        return bool(self.fields)


def week_choices(*, newest: dt.date) -> list[tuple[str, str]]:
    first = calendar.week_start_of(settings.ACTUALS_FROM)
    weeks = periods.weeks_between(first, newest)
    return [(week.isoformat(), calendar.week_label(week)) for week in reversed(weeks)]


class WeekRangeForm(ReportForm):
    """From one week to another (Mondays, from the portal's first week to the week in progress)."""

    DEFAULT_WEEKS: ClassVar[int] = 4

    from_week = forms.ChoiceField(
        label="From", error_messages={"invalid_choice": "Choose a week from the list"}
    )
    to_week = forms.ChoiceField(label="To", error_messages={"invalid_choice": "Choose a week from the list"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = week_choices(newest=calendar.week_start_of(clock.today()))
        self.fields["from_week"].choices = choices  # type: ignore[attr-defined]
        self.fields["to_week"].choices = choices  # type: ignore[attr-defined]

    @classmethod
    def last_week(cls) -> dt.date:
        """The newest week an unfiltered visit shows: the week due (the one finance is chasing)."""
        return calendar.week_due()

    @classmethod
    def defaults(cls, missing: set[str] | None = None) -> dict[str, str]:
        if missing is not None and not missing & {"from_week", "to_week"}:
            return {}
        last = cls.last_week()
        first = max(
            last - dt.timedelta(weeks=cls.DEFAULT_WEEKS - 1), calendar.week_start_of(settings.ACTUALS_FROM)
        )
        return {"from_week": first.isoformat(), "to_week": last.isoformat()}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = _parse_date(cleaned.get("from_week", "")), _parse_date(cleaned.get("to_week", ""))
        if first and last:
            if first > last:
                self.add_error("to_week", "The last week must be the same as or after the first week")
            elif (last - first).days // 7 + 1 > MAX_WEEKS:
                self.add_error("to_week", f"Choose no more than {MAX_WEEKS} weeks")
            cleaned["first"], cleaned["last"] = first, last
        return cleaned


def _provider_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Provider",
        queryset=Provider.objects.order_by("name", "ref"),
        to_field_name="ref",
        required=False,
        empty_label="All providers",
        error_messages={"invalid_choice": "Choose a provider from the list"},
    )


def _service_type_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Service type",
        queryset=ServiceType.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="All service types",
        error_messages={"invalid_choice": "Choose a service type from the list"},
    )


LINES_CHOICES = [("confirmed", "Confirmed only"), ("all", "Confirmed and drafts")]


class ComplianceForm(WeekRangeForm):
    provider = _provider_field()


class ExceptionsForm(WeekRangeForm):
    provider = _provider_field()
    severity = forms.ChoiceField(
        label="Severity",
        required=False,
        choices=[("", "All"), ("blocking", "Must be fixed"), ("acknowledge", "Needs a reason")],
        error_messages={"invalid_choice": "Choose a severity from the list"},
    )


class VarianceForm(WeekRangeForm):
    DEFAULT_WEEKS = 13  # a quarter

    provider = _provider_field()
    service_type = _service_type_field()
    lines = forms.ChoiceField(
        label="Lines",
        choices=LINES_CHOICES,
        error_messages={"invalid_choice": "Choose which lines from the list"},
    )

    @classmethod
    def last_week(cls) -> dt.date:
        """The last week that has ended."""
        return calendar.week_start_of(clock.today()) - dt.timedelta(days=7)

    @classmethod
    def defaults(cls, missing: set[str] | None = None) -> dict[str, str]:
        return super().defaults(missing) | {"lines": "confirmed"}


def period_choices(today: dt.date) -> list[tuple[str, str]]:
    first = periods.charging_period_of(max(settings.CHARGING_PERIODS_FROM, settings.ACTUALS_FROM))
    current = periods.charging_period_of(today)
    if current < first:
        first = current
    return [(p.key, p.label) for p in reversed(periods.charging_periods(first, current))]


class ChargingForm(ReportForm):
    from_period = forms.ChoiceField(
        label="From", error_messages={"invalid_choice": "Choose a period from the list"}
    )
    to_period = forms.ChoiceField(
        label="To", error_messages={"invalid_choice": "Choose a period from the list"}
    )
    provider = _provider_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = period_choices(clock.today())
        self.fields["from_period"].choices = choices  # type: ignore[attr-defined]
        self.fields["to_period"].choices = choices  # type: ignore[attr-defined]

    @classmethod
    def defaults(cls, missing: set[str] | None = None) -> dict[str, str]:
        choices = period_choices(clock.today())
        return {"from_period": choices[min(5, len(choices) - 1)][0], "to_period": choices[0][0]}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = _parse_date(cleaned.get("from_period", "")), _parse_date(cleaned.get("to_period", ""))
        if first and last:
            first_period, last_period = periods.charging_period_of(first), periods.charging_period_of(last)
            if first_period > last_period:
                self.add_error("to_period", "The last period must be the same as or after the first period")
            elif last_period.number - first_period.number + 1 > MAX_PERIODS:
                self.add_error("to_period", f"Choose no more than {MAX_PERIODS} periods")
            cleaned["first"], cleaned["last"] = first_period, last_period
        return cleaned


KIND_CHOICES = [("", "Disputes, queries and messages"), *Thread.Kind.choices]


class AgeingForm(ReportForm):
    team = forms.ModelChoiceField(
        label="Team",
        queryset=Team.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label="All teams",
        error_messages={"invalid_choice": "Choose a team from the list"},
    )
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=KIND_CHOICES,
        error_messages={"invalid_choice": "Choose a kind from the list"},
    )
    provider = _provider_field()


def month_choices(today: dt.date) -> list[tuple[str, str]]:
    months = periods.months_between(periods.month_start(settings.ACTUALS_FROM), today)
    return [(month.isoformat(), periods.month_label(month)) for month in reversed(months)]


class MonthRangeForm(ReportForm):
    DEFAULT_MONTHS: ClassVar[int] = 6

    from_month = forms.ChoiceField(
        label="From", error_messages={"invalid_choice": "Choose a month from the list"}
    )
    to_month = forms.ChoiceField(
        label="To", error_messages={"invalid_choice": "Choose a month from the list"}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = month_choices(clock.today())
        self.fields["from_month"].choices = choices  # type: ignore[attr-defined]
        self.fields["to_month"].choices = choices  # type: ignore[attr-defined]

    @classmethod
    def defaults(cls, missing: set[str] | None = None) -> dict[str, str]:
        last = periods.month_start(clock.today())
        first = max(
            periods.add_months(last, -(cls.DEFAULT_MONTHS - 1)), periods.month_start(settings.ACTUALS_FROM)
        )
        return {"from_month": first.isoformat(), "to_month": last.isoformat()}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = _parse_date(cleaned.get("from_month", "")), _parse_date(cleaned.get("to_month", ""))
        if first and last:
            if first > last:
                self.add_error("to_month", "The last month must be the same as or after the first month")
            elif len(periods.months_between(first, last)) > MAX_MONTHS:
                self.add_error("to_month", f"Choose no more than {MAX_MONTHS} months")
            cleaned["first"], cleaned["last"] = first, last
        return cleaned


class PaymentsForm(MonthRangeForm):
    provider = _provider_field()


# Provider reports --------------------------------------------------------------------------------


class ActualsAgainstPlanForm(WeekRangeForm):
    DEFAULT_WEEKS = 8

    group = forms.ChoiceField(
        label="Show by",
        choices=[(key, title) for key, (title, _) in GROUPINGS.items()],
        error_messages={"invalid_choice": "Choose how to show the figures from the list"},
    )
    service_type = _service_type_field()
    person = forms.CharField(
        label="Person",
        required=False,
        max_length=100,
        help_text="Name or client reference",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    lines = forms.ChoiceField(
        label="Lines",
        choices=LINES_CHOICES,
        error_messages={"invalid_choice": "Choose which lines from the list"},
    )

    @classmethod
    def defaults(cls, missing: set[str] | None = None) -> dict[str, str]:
        return super().defaults(missing) | {"group": "week", "lines": "all"}


class NoFiltersForm(ReportForm):
    pass


class ProviderPaymentsForm(MonthRangeForm):
    DEFAULT_MONTHS = 12


class ProviderThreadsForm(ReportForm):
    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=KIND_CHOICES,
        error_messages={"invalid_choice": "Choose a kind from the list"},
    )
