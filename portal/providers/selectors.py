"""Reads of care data that views reuse. Provider-owned rows always start from a scoped queryset."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from portal.accounts.models import User
from portal.providers.models import CarePackageLine, Provider


def care_package_lines_for_provider(*, provider: Provider) -> QuerySet[CarePackageLine]:
    return CarePackageLine.objects.for_provider(provider).with_related()


def care_package_lines_for_staff(*, user: User) -> QuerySet[CarePackageLine]:
    return CarePackageLine.objects.for_staff(user).with_related()


def providers_for_staff(*, user: User) -> QuerySet[Provider]:
    if not user.is_council_staff:
        return Provider.objects.none()
    return Provider.objects.annotate(
        line_count=Count(
            "care_package_lines", filter=Q(care_package_lines__status=CarePackageLine.Status.ACTIVE)
        )
    ).order_by("name", "ref")  # a GROUP BY query ignores Meta.ordering
