"""Council closure days: the list staff edit, which moves a deadline that falls on one to the next
working day (actuals.calendar).

Only today and later can be added or removed: a day that has passed has already set (or not) the
deadlines of the weeks before it, and changing it would change when those weeks were due after the
providers confirmed them. The deadline stored on each week not yet confirmed follows a change at once,
so the provider's checklist and the tracker agree.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from actuals import calendar
from actuals.models import ClosureDay, ProviderWeek
from portal import clock
from portal.audit.services import audit_record

if TYPE_CHECKING:
    from portal.accounts.models import User

MAX_YEARS_AHEAD = 3
# How far before a closure day a week can start and still have its deadline moved by it: the Tuesday
# after the week, then a run of closure days and weekends (Christmas to New Year is the longest).
LOOK_BACK = dt.timedelta(days=60)
PAST_SHOWN = dt.timedelta(days=365)


class ClosureDayError(Exception):
    """A change to the closure days the rules refuse; the message is for the person who asked."""


def long_date(day: dt.date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def closure_days_upcoming() -> QuerySet[ClosureDay]:
    return ClosureDay.objects.filter(day__gte=clock.today()).order_by("day")


def closure_days_recent() -> QuerySet[ClosureDay]:
    """The past year's closure days, most recent first (shown, not changeable)."""
    today = clock.today()
    return ClosureDay.objects.filter(day__lt=today, day__gte=today - PAST_SHOWN).order_by("-day")


def _guard_changeable(day: dt.date, *, verb: str) -> None:
    today = clock.today()
    if day < today:
        raise ClosureDayError(
            f"{long_date(day)} has passed: a closure day can only be {verb} for today or a later day"
        )
    if day > today + dt.timedelta(days=365 * MAX_YEARS_AHEAD):
        raise ClosureDayError(f"The closure day must be within the next {MAX_YEARS_AHEAD} years")


def _deadlines_follow(day: dt.date) -> int:
    """Store the deadline the closure days now give on every week not yet confirmed that `day` can
    move; returns how many weeks changed."""
    closed = calendar.closure_days()
    changed = 0
    starts = (
        ProviderWeek.objects.all_providers_for_workers()
        .filter(state=ProviderWeek.State.IN_PROGRESS, week_start__gte=day - LOOK_BACK, week_start__lte=day)
        .values_list("week_start", flat=True)
        .distinct()
    )
    for week_start in sorted(set(starts)):
        deadline = calendar.week_deadline(week_start, closed)
        changed += (
            ProviderWeek.objects.all_providers_for_workers()
            .filter(state=ProviderWeek.State.IN_PROGRESS, week_start=week_start)
            .exclude(deadline=deadline)
            .update(deadline=deadline)
        )
    return changed


def closure_day_add(*, day: dt.date, name: str, by: User) -> ClosureDay:
    """Add a day the council is closed; deadlines that fall on it move to the next working day."""
    name = " ".join(name.split())
    if not name:
        raise ClosureDayError("Enter the name of the closure day")
    _guard_changeable(day, verb="added")
    with transaction.atomic():
        existing = ClosureDay.objects.filter(day=day).first()
        if existing is not None:
            raise ClosureDayError(f"{long_date(day)} is already a closure day ({existing.name})")
        try:
            with transaction.atomic():
                closure = ClosureDay.objects.create(day=day, name=name)
        except IntegrityError as error:  # added by someone else a moment ago
            raise ClosureDayError(f"{long_date(day)} is already a closure day") from error
        moved = _deadlines_follow(day)
        audit_record(
            action="actuals.closure_day.added",
            actor=by,
            obj=closure,
            data={"day": day.isoformat(), "name": name, "weeks_moved": moved},
        )
    return closure


def closure_day_remove(*, closure_day_id: int, by: User) -> ClosureDay:
    """Remove a closure day (today or later); deadlines it had moved come back."""
    with transaction.atomic():
        closure = ClosureDay.objects.select_for_update().filter(pk=closure_day_id).first()
        if closure is None:
            raise ClosureDayError("That closure day has already been removed")
        _guard_changeable(closure.day, verb="removed")
        audit_record(
            action="actuals.closure_day.removed",
            actor=by,
            obj=closure,
            data={"day": closure.day.isoformat(), "name": closure.name},
        )
        closure.delete()
        _deadlines_follow(closure.day)
    return closure
