"""Reads of weeks and actual lines that pages reuse. Provider-owned rows always start from a scoped
queryset; counts are one aggregate each, so a page's query count does not grow with its lines."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum

from actuals import calendar
from actuals.models import ActualLine, LineException, ProviderWeek
from portal import clock
from portal.money import ZERO
from portal.providers.models import Provider

if TYPE_CHECKING:
    from portal.accounts.models import User

Status = ActualLine.Status
OPEN_WEEKS_BACK = 8  # how far back the checklist looks for weeks never started


# What a week's table never shows: not read for its rows.
ROW_UNUSED = (
    "amended_at",
    "amended_by",
    "review_reason",
    "reviewed_at",
    "reviewed_by",
    "sent_at",
    "care_package_line__service_user__date_of_birth",
    "care_package_line__service_user__updated_at",
    "care_package_line__updated_at",
)


def lines_for_week(*, provider: Provider, week: ProviderWeek) -> QuerySet[ActualLine]:
    """A week's lines with what their rows show (the provider and week are the page's already)."""
    return (
        ActualLine.objects.for_provider(provider)
        .filter(week=week)
        .select_related("care_package_line__service_type", "care_package_line__service_user")
        .defer(*ROW_UNUSED)
    )


def week_for_provider(*, provider: Provider, week_start: dt.date) -> ProviderWeek | None:
    return ProviderWeek.objects.for_provider(provider).filter(week_start=week_start).first()


def with_blocking(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    """The lines with an exception that must be fixed."""
    return lines.filter(
        Exists(LineException.objects.filter(line=OuterRef("pk"), severity=LineException.Severity.BLOCKING))
    )


def needing_reason(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    """The lines with an exception that still needs the provider's reason."""
    return lines.filter(
        Exists(
            LineException.objects.filter(
                line=OuterRef("pk"), severity=LineException.Severity.ACKNOWLEDGE, acknowledged_at__isnull=True
            )
        )
    )


def exceptions_by_line(lines: list[ActualLine]) -> dict[int, list[LineException]]:
    """The exceptions of a page of lines, in one query."""
    found: dict[int, list[LineException]] = {}
    for exception in LineException.objects.filter(line_id__in=[line.pk for line in lines]).order_by(
        "severity", "rule"
    ):
        found.setdefault(exception.line_id, []).append(exception)
    return found


@dataclass
class WeekSummary:
    """What a week's pages and the checklist show about it, from three aggregate queries."""

    week_start: dt.date
    deadline: dt.datetime
    week: ProviderWeek | None
    lines: int = 0
    amended: int = 0
    variances: int = 0
    uncommented: int = 0
    blocking: int = 0
    blocking_lines: int = 0
    unacknowledged: int = 0
    acknowledged: int = 0
    total: Decimal = ZERO
    by_status: dict[str, int] = field(default_factory=dict)
    by_status_amount: dict[str, Decimal] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return calendar.week_label(self.week_start)

    @property
    def generated(self) -> bool:
        return self.week is not None

    @property
    def confirmed(self) -> bool:
        return self.week is not None and self.week.is_confirmed

    @property
    def ended(self) -> bool:
        return calendar.week_has_ended(self.week_start)

    @property
    def overdue(self) -> bool:
        return not self.confirmed and clock.now() > self.deadline

    @property
    def ready_to_confirm(self) -> bool:
        return self.generated and not self.confirmed and not self.blocking and not self.unacknowledged

    @property
    def status_rows(self) -> list[tuple[str, int, Decimal]]:
        return [
            (label, self.by_status[value], self.by_status_amount[value])
            for value, label in Status.choices
            if self.by_status.get(value)
        ]

    @property
    def state_label(self) -> str:
        if self.week is None:
            return "Not started"
        if self.week.is_confirmed:
            return "Confirmed late" if self.week.late else "Confirmed"
        return "Overdue" if self.overdue else "In progress"

    @property
    def state_colour(self) -> str:
        return {
            "Not started": "grey",
            "In progress": "blue",
            "Overdue": "red",
            "Confirmed": "green",
            "Confirmed late": "orange",
        }[self.state_label]


def week_summary(*, provider: Provider, week_start: dt.date) -> WeekSummary:
    week = week_for_provider(provider=provider, week_start=week_start)
    deadline = week.deadline if week is not None else calendar.week_deadline(week_start)
    summary = WeekSummary(week_start=week_start, deadline=deadline, week=week)
    if week is None:
        return summary
    lines = ActualLine.objects.for_provider(provider).filter(week=week)
    variance = (
        Q(frustrated__gt=0) | Q(missed__gt=0) | Q(extra__gt=0) | ~Q(delivered=F("planned"))
    )  # as differing_from_plan
    grouped = lines.values("status").annotate(
        n=Count("pk"),
        amount=Sum("amount"),
        amended=Count("pk", filter=Q(amended=True)),
        variances=Count("pk", filter=variance),
    )
    for row in grouped.order_by():
        summary.by_status[row["status"]] = row["n"]
        summary.by_status_amount[row["status"]] = row["amount"] or ZERO
        summary.lines += row["n"]
        summary.amended += row["amended"]
        summary.variances += row["variances"]
        summary.total += row["amount"] or ZERO
    exceptions = LineException.objects.filter(line__week=week, line__provider=provider).aggregate(
        blocking=Count("pk", filter=Q(severity=LineException.Severity.BLOCKING)),
        blocking_lines=Count("line", filter=Q(severity=LineException.Severity.BLOCKING), distinct=True),
        uncommented=Count("pk", filter=Q(rule="ACT-04")),
        unacknowledged=Count(
            "pk", filter=Q(severity=LineException.Severity.ACKNOWLEDGE, acknowledged_at__isnull=True)
        ),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
    )
    summary.blocking = exceptions["blocking"]
    summary.blocking_lines = exceptions["blocking_lines"]
    summary.uncommented = exceptions["uncommented"]
    summary.unacknowledged = exceptions["unacknowledged"]
    summary.acknowledged = exceptions["acknowledged"]
    return summary


def open_earlier_weeks(*, provider: Provider, before: dt.date) -> list[WeekSummary]:
    """Weeks before `before` still open: generated but not confirmed, or never started (back to
    OPEN_WEEKS_BACK weeks, and not before the provider's portal access began)."""
    started = {
        week.week_start: week
        for week in ProviderWeek.objects.for_provider(provider).filter(week_start__lt=before)
    }
    first = before - dt.timedelta(weeks=OPEN_WEEKS_BACK)
    if provider.portal_enabled_at is not None:
        enabled_week = calendar.week_start_of(provider.portal_enabled_at.astimezone(calendar.LONDON).date())
        first = max(first, enabled_week)
    closed = calendar.closure_days()
    weeks = []
    for week in started.values():
        if not week.is_confirmed and week.week_start < first:
            weeks.append(WeekSummary(week.week_start, week.deadline, week))
    day = first
    while day < before:
        found = started.get(day)
        if found is None or not found.is_confirmed:
            deadline = found.deadline if found else calendar.week_deadline(day, closed)
            weeks.append(WeekSummary(day, deadline, found))
        day += dt.timedelta(days=7)
    return sorted(weeks, key=lambda s: s.week_start)


def recent_weeks(*, provider: Provider, count: int = 12) -> list[ProviderWeek]:
    return list(ProviderWeek.objects.for_provider(provider).order_by("-week_start")[:count])


def time_left(deadline: dt.datetime, now: dt.datetime | None = None) -> str:
    """'1 day 4 hours left', '35 minutes left', 'overdue by 2 days' — the checklist's countdown."""
    now = now or clock.now()
    seconds = int((deadline - now).total_seconds())
    overdue = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours and days < 7:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    text = " ".join(parts)
    return f"overdue by {text}" if overdue else f"{text} left"


def lines_for_week_start(*, provider: Provider, week_start: dt.date) -> QuerySet[ActualLine]:
    return ActualLine.objects.for_provider(provider).filter(week__week_start=week_start).with_related()


def line_with_related(line: ActualLine) -> ActualLine:
    return ActualLine.objects.for_provider(line.provider).with_related().get(pk=line.pk)


def differing_from_plan(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    return lines.filter(Q(frustrated__gt=0) | Q(missed__gt=0) | Q(extra__gt=0) | ~Q(delivered=F("planned")))


def changed_in_backoffice(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    """Lines whose care package line changed after they were generated."""
    return lines.exclude(care_package_line_version=F("care_package_line__version"))


def checklist(summary: WeekSummary) -> list[dict[str, str]]:
    """The weekly checklist (the provider's home page): each step with its count, state and link, for
    components/task_list.html."""
    from django.urls import reverse

    week = reverse("actuals_week", kwargs={"week": summary.week_start})

    def step(title: str, url: str, hint: str, done: bool, *, blocked: bool = False) -> dict[str, str]:
        if done:
            status, colour = "Completed", ""
        elif blocked:
            status, colour = "Cannot start yet", "grey"
        else:
            status, colour = "To do", "blue"
        return {"title": title, "url": url, "hint": hint, "status": status, "status_colour": colour}

    if not summary.generated:
        return [
            step(
                "Generate actuals",
                week,
                "One line for each care package line, filled in from the plan.",
                False,
            ),
            step("Amend lines that differ from plan", "", "", False, blocked=True),
            step("Comment on every variance", "", "", False, blocked=True),
            step("Review exceptions", "", "", False, blocked=True),
            step("Confirm the week", "", "", False, blocked=True),
        ]
    confirmed = summary.confirmed
    exceptions_left = summary.blocking + summary.unacknowledged
    return [
        step(
            "Generate actuals",
            week,
            f"{summary.lines} line{'s' if summary.lines != 1 else ''} generated.",
            True,
        ),
        step(
            "Amend lines that differ from plan",
            f"{week}?show=variance",
            f"{summary.amended} amended, {summary.variances} differ from plan.",
            confirmed or summary.amended > 0,
        ),
        step(
            "Comment on every variance",
            f"{week}?show=blocking",
            f"{summary.uncommented} variance{'s' if summary.uncommented != 1 else ''} without a comment.",
            summary.uncommented == 0,
        ),
        step(
            "Review exceptions",
            f"{week}?show={'blocking' if summary.blocking else 'reason'}",
            f"{summary.blocking} must be fixed, {summary.unacknowledged} need a reason.",
            exceptions_left == 0,
        ),
        step(
            "Confirm the week",
            reverse("actuals_confirm", kwargs={"week": summary.week_start}),
            "Confirmed." if confirmed else "On the scheduled payments page, with the declaration.",
            confirmed,
            blocked=not confirmed and (exceptions_left > 0 or not summary.ended),
        ),
    ]


# The council's exception review -------------------------------------------------------------------


def held_lines_for_staff(*, user: User) -> QuerySet[ActualLine]:
    """Lines held for finance review, across providers (the review queue)."""
    return ActualLine.objects.for_staff(user).filter(status=Status.HELD).with_related()


def reviewed_lines_for_staff(*, user: User) -> QuerySet[ActualLine]:
    """Lines that are, or were, in finance review: held now, or decided by a finance officer."""
    return (
        ActualLine.objects.for_staff(user)
        .filter(Q(status__in=[Status.HELD, Status.DISPUTED]) | Q(reviewed_at__isnull=False))
        .with_related()
        .select_related("week__confirmed_by", "reviewed_by")
    )
