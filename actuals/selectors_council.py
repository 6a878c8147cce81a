"""Reads of the council's pages about one provider's actuals: its weeks, and one week's lines. Council staff
only (`for_staff`: nothing for anyone else), each page's rows in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db.models import Count, Q, QuerySet, Sum

from actuals.models import ActualLine, ProviderWeek
from portal.providers.models import Provider

if TYPE_CHECKING:
    from portal.accounts.models import User

Status = ActualLine.Status


def weeks_for_staff(*, user: User, provider: Provider) -> QuerySet[ProviderWeek]:
    """The provider's weeks, newest first, each with its lines counted (held for review, in dispute, not
    payable) and their amount added up, in one query."""
    return (
        ProviderWeek.objects.for_staff(user)
        .filter(provider=provider)
        .select_related("confirmed_by")
        .annotate(
            line_count=Count("lines"),
            held_count=Count("lines", filter=Q(lines__status=Status.HELD)),
            disputed_count=Count("lines", filter=Q(lines__status=Status.DISPUTED)),
            total=Sum("lines__amount"),
        )
        .order_by("-week_start")
    )


def week_for_staff(*, user: User, provider: Provider, week_start: dt.date) -> ProviderWeek | None:
    return (
        ProviderWeek.objects.for_staff(user)
        .filter(provider=provider, week_start=week_start)
        .select_related("provider", "confirmed_by")
        .order_by()
        .first()
    )


def week_lines_for_staff(*, user: User, week: ProviderWeek, q: str = "") -> QuerySet[ActualLine]:
    """A week's lines with their person, service type and care package line, by person; `q` narrows them
    to a person's name (any part), a client reference or a care package line reference."""
    lines = (
        ActualLine.objects.for_staff(user)
        .filter(week=week)
        .select_related("care_package_line__service_user", "care_package_line__service_type")
        .order_by("care_package_line__service_user__name", "care_package_line__ref", "pk")
    )
    q = q.strip()
    if q:
        lines = lines.filter(
            Q(care_package_line__service_user__name__icontains=q)
            | Q(care_package_line__service_user__ref__iexact=q)
            | Q(care_package_line__ref__iexact=q)
        )
    return lines


def week_versions_for_staff(
    *, user: User, week: ProviderWeek, statuses: frozenset[str]
) -> list[tuple[int, int]]:
    """Every line of the week in one of `statuses`, as (pk, version): what "the whole week" covers."""
    return list(
        ActualLine.objects.for_staff(user)
        .filter(week=week, status__in=statuses)
        .order_by("pk")
        .values_list("pk", "version")
    )
