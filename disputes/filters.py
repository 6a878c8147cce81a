"""Inbox filters (django-filter), rendered as GOV.UK fields: the provider's inbox and the council's."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from disputes.models import Team, Thread
from disputes.selectors import OPEN_STATES
from portal import clock

STATE_GROUPS = [("open", "Open"), ("resolved", "Resolved"), ("closed", "Closed")]


def _search(queryset: QuerySet[Thread], value: str, *, council: bool) -> QuerySet[Thread]:
    value = value.strip()
    if not value:
        return queryset
    match = Q(subject__icontains=value) | Q(person__name__icontains=value) | Q(person__ref__iexact=value)
    if value[:1].upper() in "DQM" and value[1:].isdigit():
        match |= Q(pk=int(value[1:]))
    if council:
        match |= Q(provider__name__icontains=value) | Q(provider__ref__iexact=value)
    return queryset.filter(match)


def _by_state(queryset: QuerySet[Thread], value: str) -> QuerySet[Thread]:
    if value == "open":
        return queryset.filter(state__in=OPEN_STATES)
    return queryset.filter(state=value) if value in ("resolved", "closed") else queryset


class ThreadFilter(django_filters.FilterSet):
    """The provider's inbox."""

    q = django_filters.CharFilter(
        label="Search",
        method="search",
        help_text="A reference (such as Q000012), a subject or a person",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    state = django_filters.ChoiceFilter(
        label="State", choices=STATE_GROUPS, method="by_state", empty_label="Any state"
    )
    kind = django_filters.ChoiceFilter(label="Kind", choices=Thread.Kind.choices, empty_label="Any kind")

    class Meta:
        model = Thread
        fields = ["q", "state", "kind"]

    def search(self, queryset: QuerySet[Thread], name: str, value: str) -> QuerySet[Thread]:
        return _search(queryset, value, council=False)

    def by_state(self, queryset: QuerySet[Thread], name: str, value: str) -> QuerySet[Thread]:
        return _by_state(queryset, value)


class CouncilThreadFilter(django_filters.FilterSet):
    """The council's inbox: by team, assignee, state, due date, kind and query type."""

    q = django_filters.CharFilter(
        label="Search",
        method="search",
        help_text="A reference, a subject, a provider or a person",
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false"}),
    )
    team = django_filters.ModelChoiceFilter(
        label="Team", queryset=Team.objects.order_by("name"), to_field_name="code", empty_label="All teams"
    )
    assignee = django_filters.ChoiceFilter(
        label="Assigned to",
        choices=[("me", "Me"), ("nobody", "Nobody")],
        method="by_assignee",
        empty_label="Anyone",
    )
    state = django_filters.ChoiceFilter(
        label="State", choices=STATE_GROUPS, method="by_state", empty_label="Any state"
    )
    due = django_filters.ChoiceFilter(
        label="Due",
        choices=[("overdue", "Overdue"), ("soon", "Due within 2 days")],
        method="by_due",
        empty_label="Any time",
    )
    kind = django_filters.ChoiceFilter(label="Kind", choices=Thread.Kind.choices, empty_label="Any kind")
    query_type = django_filters.ChoiceFilter(
        label="Query type", choices=Thread.QueryType.choices, empty_label="Any type"
    )
    sort = django_filters.OrderingFilter(
        fields=(("due_on", "due"), ("last_message_at", "latest"), ("provider__name", "provider")),
        empty_label=None,
        widget=forms.HiddenInput,
    )

    class Meta:
        model = Thread
        fields = ["q", "team", "assignee", "state", "due", "kind", "query_type"]

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def search(self, queryset: QuerySet[Thread], name: str, value: str) -> QuerySet[Thread]:
        return _search(queryset, value, council=True)

    def by_state(self, queryset: QuerySet[Thread], name: str, value: str) -> QuerySet[Thread]:
        return _by_state(queryset, value)

    def by_assignee(self, queryset: QuerySet[Thread], name: str, value: str) -> QuerySet[Thread]:
        if value == "me":
            return queryset.filter(assignee=self.user)
        return queryset.filter(assignee__isnull=True) if value == "nobody" else queryset

    def by_due(self, queryset: QuerySet[Thread], name: str, value: str) -> QuerySet[Thread]:
        today = clock.today()
        open_threads = queryset.filter(state__in=OPEN_STATES)
        if value == "overdue":
            return open_threads.filter(due_on__lt=today)
        if value == "soon":
            return open_threads.filter(due_on__gte=today, due_on__lte=today + dt.timedelta(days=2))
        return queryset
