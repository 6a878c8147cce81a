"""The accounts list's filters (django-filter)."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Q, QuerySet

from portal.accounts.models import User

STATUS_CHOICES = [
    ("active", "Can sign in"),
    ("invited", "Invited, no password yet"),
    ("never_signed_in", "Never signed in"),
    ("locked", "Locked"),
    ("deactivated", "Deactivated"),
]
ROLE_CHOICES = [
    ("provider_user", "Provider user"),
    ("provider_administrator", "Provider administrator"),
    ("finance_officer", "Finance officer"),
    ("portal_administrator", "Portal administrator"),
]


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Search",
        method="search",
        help_text="Name or email address",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    status = django_filters.ChoiceFilter(
        label="Status", choices=STATUS_CHOICES, method="by_status", empty_label="Any status"
    )
    role = django_filters.ChoiceFilter(
        label="Role", choices=ROLE_CHOICES, method="by_role", empty_label="Any role"
    )
    provider = django_filters.CharFilter(
        label="Provider", method="by_provider", help_text="Provider name or reference"
    )

    class Meta:
        model = User
        fields = ["q", "status", "role", "provider"]

    def search(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        value = value.strip()
        return (
            queryset.filter(Q(email__icontains=value) | Q(full_name__icontains=value)) if value else queryset
        )

    def by_status(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        # Django marks an unusable password (an invited login that has not set one) with a leading "!".
        no_password = Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        return {
            "active": queryset.filter(is_active=True, locked_at__isnull=True).exclude(no_password),
            "invited": queryset.filter(no_password, is_active=True),
            "never_signed_in": queryset.filter(is_active=True, last_login__isnull=True),
            "locked": queryset.filter(locked_at__isnull=False),
            "deactivated": queryset.filter(is_active=False),
        }[value]

    def by_role(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        if value in ("finance_officer", "portal_administrator"):
            return queryset.filter(council_role=value)
        return queryset.filter(memberships__role=value).distinct()

    def by_provider(self, queryset: QuerySet[User], name: str, value: str) -> QuerySet[User]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(memberships__provider__ref__iexact=value) | Q(memberships__provider__name__icontains=value)
        ).distinct()
