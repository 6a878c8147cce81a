"""Filters of the remittance lists (django-filter), rendered as GOV.UK fields: by payment run, by the
financial year the payment fell in, by a day the payment was for, and (council staff) by provider."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet

from portal.forms import GovukDateField
from remittances.advice import financial_year_bounds, financial_year_label
from remittances.models import Remittance, RemittanceLine


class GovukDateFilter(django_filters.Filter):
    """A date typed in GOV.UK's three boxes (day, month, year)."""

    field_class = GovukDateField


class RemittanceFilter(django_filters.FilterSet):
    payment_run = django_filters.CharFilter(
        label="Payment run",
        method="by_payment_run",
        help_text="The payment run's reference, or the remittance's",
    )
    year = django_filters.ChoiceFilter(
        label="Financial year", method="by_year", empty_label="All years", choices=[]
    )
    covering = GovukDateFilter(
        label="Paid for a day",
        help_text="Remittances paying for service on that day. For example, 30 11 2026",
        method="by_day",
    )

    class Meta:
        model = Remittance
        fields = ["payment_run", "year", "covering"]

    def __init__(self, *args: Any, years: list[int], **kwargs: Any) -> None:
        """`years`: the financial years of the history, newest first (`advice.financial_years`)."""
        super().__init__(*args, **kwargs)
        self.filters["year"].extra["choices"] = [(str(year), financial_year_label(year)) for year in years]
        self.filters["year"].extra["error_messages"] = {
            "invalid_choice": "Select a financial year from the list"
        }

    def by_payment_run(self, queryset: QuerySet[Remittance], name: str, value: str) -> QuerySet[Remittance]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(payment_run_ref__iexact=value) | Q(ref__iexact=value))

    def by_year(self, queryset: QuerySet[Remittance], name: str, value: str) -> QuerySet[Remittance]:
        if not value:
            return queryset
        start, end = financial_year_bounds(int(value))
        return queryset.filter(paid_on__range=(start, end))

    def by_day(
        self, queryset: QuerySet[Remittance], name: str, value: dt.date | None
    ) -> QuerySet[Remittance]:
        if value is None:
            return queryset
        covering = RemittanceLine.objects.filter(
            remittance=OuterRef("pk"), period_start__lte=value, period_end__gte=value
        )
        return queryset.filter(Exists(covering))


class StaffRemittanceFilter(RemittanceFilter):
    provider = django_filters.CharFilter(
        label="Provider", method="by_provider", help_text="Provider name or reference"
    )

    class Meta(RemittanceFilter.Meta):
        fields = ["provider", "payment_run", "year", "covering"]

    def by_provider(self, queryset: QuerySet[Remittance], name: str, value: str) -> QuerySet[Remittance]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(provider__name__icontains=value) | Q(provider__ref__iexact=value))
