"""The council's calendar: weeks, deadlines, payment days and 4-week charging periods (Europe/London)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ..clock import LONDON
from ..conf import settings
from .money import round_to_step

DEADLINE_TIME = dt.time(17, 0)


def week_start_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def week_deadline(week_start: dt.date) -> dt.datetime:
    """17:00 London on the Tuesday after the week (Monday + 8 days). No closure days in the simulator."""
    return dt.datetime.combine(week_start + dt.timedelta(days=8), DEADLINE_TIME, tzinfo=LONDON)


def latest_deadline(moment: dt.datetime) -> dt.datetime:
    """The latest weekly deadline at or before `moment`: what a payment run at `moment` pays up to."""
    local = moment.astimezone(LONDON)
    tuesday = local.date() - dt.timedelta(days=(local.weekday() - 1) % 7)
    deadline = dt.datetime.combine(tuesday, DEADLINE_TIME, tzinfo=LONDON)
    if deadline > moment:
        deadline = dt.datetime.combine(tuesday - dt.timedelta(days=7), DEADLINE_TIME, tzinfo=LONDON)
    return deadline


def payment_time() -> dt.time:
    hours, _, minutes = settings.BACKOFFICE_PAYMENT_TIME.partition(":")
    return dt.time(int(hours), int(minutes or 0))


def scheduled_run_moment(week_of: dt.date) -> dt.datetime:
    """When the scheduled payment run of the week starting `week_of` is due."""
    day = week_of + dt.timedelta(days=settings.BACKOFFICE_PAYMENT_WEEKDAY)
    return dt.datetime.combine(day, payment_time(), tzinfo=LONDON)


def days_active(*, start_date: dt.date, end_date: dt.date | None, week_start: dt.date) -> int:
    first = max(start_date, week_start)
    last = min(end_date or week_start + dt.timedelta(days=6), week_start + dt.timedelta(days=6))
    return max(0, (last - first).days + 1)


def planned_for_week(
    *,
    planned_per_week: Decimal,
    step: Decimal,
    start_date: dt.date,
    end_date: dt.date | None,
    week_start: dt.date,
) -> Decimal:
    """The week's plan: pro-rated by days active where the line starts or ends within the week,
    rounded to the nearest unit step (half up), as DOMAIN.md "What is paid" says."""
    days = days_active(start_date=start_date, end_date=end_date, week_start=week_start)
    if days == 7:
        return planned_per_week
    return round_to_step(planned_per_week * days / 7, step)


# Charging periods ---------------------------------------------------------------------------------

PERIOD_DAYS = 28


def charging_start() -> dt.date:
    return dt.date.fromisoformat(settings.BACKOFFICE_CHARGING_START)


def period_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The 4-week charging period holding `day` (blocks counted both ways from the configured Monday)."""
    index = (day - charging_start()).days // PERIOD_DAYS
    start = charging_start() + dt.timedelta(days=index * PERIOD_DAYS)
    return start, start + dt.timedelta(days=PERIOD_DAYS - 1)


def last_completed_period(today: dt.date) -> tuple[dt.date, dt.date]:
    start, _ = period_of(today)
    return period_of(start - dt.timedelta(days=1))


def is_period_start(day: dt.date) -> bool:
    return (day - charging_start()).days % PERIOD_DAYS == 0
