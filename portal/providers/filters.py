"""List filters for care package lines and providers (django-filter), rendered as GOV.UK fields."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from portal.providers.models import CarePackageLine, Provider, ServiceType


class CarePackageLineFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="search",
        help_text="Name or client reference of the person, or the line reference",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    service_type = django_filters.ModelChoiceFilter(
        queryset=ServiceType.objects.all(), to_field_name="code", empty_label="All service types"
    )
    status = django_filters.ChoiceFilter(choices=CarePackageLine.Status.choices, empty_label="All statuses")
    sort = django_filters.OrderingFilter(
        fields=(
            ("service_user__name", "person"),
            ("service_type__name", "service_type"),
            ("planned_per_week", "planned"),
            ("rate", "rate"),
            ("start_date", "start"),
            ("end_date", "end"),
        ),
        widget=forms.HiddenInput,
    )

    class Meta:
        model = CarePackageLine
        fields = ["q", "service_type", "status"]

    def search(self, queryset: QuerySet[CarePackageLine], name: str, value: str) -> QuerySet[CarePackageLine]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(service_user__name__icontains=value) | Q(service_user__ref__iexact=value) | Q(ref__iexact=value)
        )


class StaffCarePackageLineFilter(CarePackageLineFilter):
    provider = django_filters.CharFilter(
        label="Provider", method="by_provider", help_text="Provider name or reference"
    )

    class Meta(CarePackageLineFilter.Meta):
        fields = ["q", "provider", "service_type", "status"]

    def by_provider(
        self, queryset: QuerySet[CarePackageLine], name: str, value: str
    ) -> QuerySet[CarePackageLine]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(provider__name__icontains=value) | Q(provider__ref__iexact=value))


class ProviderFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="search", help_text="Provider name or reference")
    kind = django_filters.ChoiceFilter(choices=Provider.Kind.choices, empty_label="All kinds")
    portal_enabled = django_filters.ChoiceFilter(
        label="Portal access",
        choices=[("true", "Switched on"), ("false", "Not switched on")],
        empty_label="Any",
        method="by_access",
    )

    class Meta:
        model = Provider
        fields = ["q", "kind", "portal_enabled"]

    def search(self, queryset: QuerySet[Provider], name: str, value: str) -> QuerySet[Provider]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(ref__iexact=value))

    def by_access(self, queryset: QuerySet[Provider], name: str, value: str) -> QuerySet[Provider]:
        return queryset.filter(portal_enabled=(value == "true"))
