"""The council's weeks and deadlines (Europe/London).

A week runs Monday to Sunday. Its actuals are due by 17:00 on the Tuesday after it; when that Tuesday is
a council closure day (or a run of them), the deadline moves to 17:00 on the next working day. The
deadline is a moment computed in London time and stored in UTC, so it is right on both sides of the
clock changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings

from portal import clock
from portal.clock import LONDON

DEADLINE_TIME = dt.time(17, 0)
DEADLINE_DAYS_AFTER_START = 8  # Monday + 8 days: the Tuesday after the week


def week_start_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_end(week_start: dt.date) -> dt.date:
    return week_start + dt.timedelta(days=6)


def is_week_start(day: dt.date) -> bool:
    return day.weekday() == 0


def closure_days() -> set[dt.date]:
    from actuals.models import ClosureDay

    return set(ClosureDay.objects.values_list("day", flat=True))


def deadline_day(week_start: dt.date, closed: Iterable[dt.date]) -> dt.date:
    """The Tuesday after the week, moved past closure days and weekends to the next working day."""
    closed = set(closed)
    day = week_start + dt.timedelta(days=DEADLINE_DAYS_AFTER_START)
    while day in closed or day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def week_deadline(week_start: dt.date, closed: Iterable[dt.date] | None = None) -> dt.datetime:
    """17:00 London time on the week's deadline day, as an aware datetime."""
    day = deadline_day(week_start, closure_days() if closed is None else closed)
    return dt.datetime.combine(day, DEADLINE_TIME, tzinfo=LONDON)


def week_due(now: dt.datetime | None = None, closed: Iterable[dt.date] | None = None) -> dt.date:
    """The week whose deadline comes next: on Monday and Tuesday before 17:00, last week; from then
    until the next Monday, the week in progress."""
    now = now or clock.now()
    closed = closure_days() if closed is None else set(closed)
    candidate = week_start_of(now.astimezone(LONDON).date()) - dt.timedelta(days=14)
    while week_deadline(candidate, closed) <= now:
        candidate += dt.timedelta(days=7)
    return candidate


def week_has_ended(week_start: dt.date, today: dt.date | None = None) -> bool:
    return (today or clock.today()) > week_end(week_start)


def week_claimable(week_start: dt.date, today: dt.date | None = None) -> str:
    """Why the week cannot be claimed through the portal, or "" when it can: from the portal's first
    week (`ACTUALS_FROM`) to the week in progress."""
    first = week_start_of(settings.ACTUALS_FROM)
    if week_start < first:
        return (
            f"Weeks before {week_label(first).lower()} were claimed before the portal: contact the council."
        )
    if week_start > week_start_of(today or clock.today()):
        return "That week has not started yet."
    return ""


def days_active(*, start_date: dt.date, end_date: dt.date | None, week_start: dt.date) -> int:
    """How many days of the week a care package line runs (0 to 7)."""
    first = max(start_date, week_start)
    last = min(end_date or week_end(week_start), week_end(week_start))
    return max(0, (last - first).days + 1)


def week_label(week_start: dt.date) -> str:
    """'Week of 24 Nov 2026' — how weeks are named on pages and in emails."""
    return f"Week of {week_start.day} {week_start:%b %Y}"
