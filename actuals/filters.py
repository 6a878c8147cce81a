"""List filters of the council's exception review queue (django-filter), rendered as GOV.UK fields."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet

from actuals import calendar
from actuals.models import ActualLine, LineException
from actuals.rules import ACKNOWLEDGE, RULES
from portal.providers.models import Provider, ServiceType


def acknowledge_rule_choices() -> list[tuple[str, str]]:
    return [(rule.id, f"{rule.id}: {rule.text}") for rule in RULES if rule.severity == ACKNOWLEDGE]


class ExceptionReviewFilter(django_filters.FilterSet):
    """Filters over lines held for review; the week and provider lists offer only what is in the queue."""

    q = django_filters.CharFilter(
        label="Person",
        method="search",
        help_text="Name or client reference",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    week = django_filters.ChoiceFilter(
        label="Week", field_name="week__week_start", empty_label="All weeks", choices=[]
    )
    provider = django_filters.ModelChoiceFilter(
        label="Provider",
        queryset=Provider.objects.none(),
        to_field_name="ref",
        empty_label="All providers",
    )
    rule = django_filters.ChoiceFilter(
        label="Exception",
        method="by_rule",
        choices=acknowledge_rule_choices,
        empty_label="All exceptions",
    )
    service_type = django_filters.ModelChoiceFilter(
        label="Service type",
        field_name="care_package_line__service_type",
        queryset=ServiceType.objects.order_by("name"),
        to_field_name="code",
        empty_label="All service types",
    )
    sort = django_filters.OrderingFilter(
        fields=(
            ("week__week_start", "week"),
            ("provider__name", "provider"),
            ("care_package_line__service_user__name", "person"),
            ("care_package_line__service_type__name", "service"),
            ("amount", "amount"),
            ("confirmed_at", "confirmed"),
        ),
        widget=forms.HiddenInput,
    )

    class Meta:
        model = ActualLine
        fields = ["q", "week", "provider", "rule", "service_type"]

    def __init__(self, *args: Any, queryset: QuerySet[ActualLine], **kwargs: Any) -> None:
        super().__init__(*args, queryset=queryset, **kwargs)
        weeks = queryset.order_by("-week__week_start").values_list("week__week_start", flat=True).distinct()
        self.filters["week"].extra["choices"] = [
            (week.isoformat(), calendar.week_label(week)) for week in weeks
        ]
        self.filters["provider"].queryset = Provider.objects.filter(
            pk__in=queryset.order_by().values("provider_id")
        ).order_by("name")
        for name in ("q", "week", "provider", "rule", "service_type"):
            self.form.fields[name].widget.attrs["class"] = (
                "govuk-!-width-full"  # the page lays them out in a grid
            )

    @property
    def qs(self) -> QuerySet[ActualLine]:
        """Sorted as asked, or oldest week first (the queue's order); the key last, so pages are stable."""
        lines = super().qs
        if self.is_bound and self.form.is_valid() and self.form.cleaned_data.get("sort"):
            ordering = [str(term) for term in lines.query.order_by]
        else:
            ordering = ["week__week_start", "provider__name", "care_package_line__service_user__name"]
        return lines.order_by(*ordering, "pk")

    def search(self, queryset: QuerySet[ActualLine], name: str, value: str) -> QuerySet[ActualLine]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(care_package_line__service_user__name__icontains=value)
            | Q(care_package_line__service_user__ref__iexact=value)
        )

    def by_rule(self, queryset: QuerySet[ActualLine], name: str, value: str) -> QuerySet[ActualLine]:
        return queryset.filter(Exists(LineException.objects.filter(line=OuterRef("pk"), rule=value)))
