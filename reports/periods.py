"""The periods reports are about: weeks (Monday to Sunday), 4-weekly charging periods and months.

A **charging period** is a block of four weeks counted from CHARGING_PERIODS_FROM (a Monday: the first
week of the council's financial year, DOMAIN.md), numbered from 1; the blocks before it count back
(period 0, -1, ...), so every week belongs to exactly one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from actuals import calendar

PERIOD_WEEKS = 4
PERIOD_DAYS = PERIOD_WEEKS * 7


@dataclass(frozen=True, order=True)
class ChargingPeriod:
    number: int
    start: dt.date

    @property
    def end(self) -> dt.date:
        """Its last day (a Sunday)."""
        return self.start + dt.timedelta(days=PERIOD_DAYS - 1)

    @property
    def weeks(self) -> list[dt.date]:
        return [self.start + dt.timedelta(weeks=n) for n in range(PERIOD_WEEKS)]

    @property
    def label(self) -> str:
        return f"Period {self.number}: {short(self.start)} to {short(self.end)}"

    @property
    def key(self) -> str:
        return self.start.isoformat()

    def has_ended(self, today: dt.date) -> bool:
        return today > self.end


def short(day: dt.date) -> str:
    """'6 Apr 2026'."""
    return f"{day.day} {day:%b %Y}"


def charging_period_of(day: dt.date) -> ChargingPeriod:
    first: dt.date = settings.CHARGING_PERIODS_FROM
    index = (day - first).days // PERIOD_DAYS
    return ChargingPeriod(index + 1, first + dt.timedelta(days=index * PERIOD_DAYS))


def charging_periods(first: ChargingPeriod, last: ChargingPeriod) -> list[ChargingPeriod]:
    """Every period from `first` to `last`, both included."""
    return [
        ChargingPeriod(n, first.start + dt.timedelta(days=(n - first.number) * PERIOD_DAYS))
        for n in range(first.number, last.number + 1)
    ]


def weeks_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The Mondays from the week of `first` to the week of `last`, both included."""
    start, end = calendar.week_start_of(first), calendar.week_start_of(last)
    return [start + dt.timedelta(weeks=n) for n in range((end - start).days // 7 + 1)]


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of the months from `first`'s to `last`'s, both included."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    return months


def month_end(month: dt.date) -> dt.date:
    return add_months(month, 1) - dt.timedelta(days=1)


def month_label(month: dt.date) -> str:
    return f"{month:%B %Y}"
