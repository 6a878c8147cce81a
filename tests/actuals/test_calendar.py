"""Weeks and deadlines in Europe/London: the Tuesday 17:00 deadline on both sides of the clock changes,
closure days moving it, the week due at each moment of the week, and the plan pro-rated by days active."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from actuals import calendar
from actuals.models import ClosureDay
from actuals.services import planned_for_week
from portal import clock
from portal.clock import LONDON
from portal.money import round_to_step
from tests.actuals.conftest import DAY_CARE, HOME_SUPPORT
from tests.factories import CarePackageLineFactory, ServiceTypeFactory

D = Decimal
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


# Deadlines ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("week_start", "deadline_utc"),
    [
        pytest.param(dt.date(2026, 11, 2), utc(2026, 11, 10, 17), id="GMT week: 17:00 UTC"),
        pytest.param(dt.date(2026, 6, 1), utc(2026, 6, 9, 16), id="BST week: 16:00 UTC"),
        # 2026's clocks go forward on Sunday 29 March and back on Sunday 25 October.
        pytest.param(dt.date(2026, 3, 16), utc(2026, 3, 24, 17), id="the week before BST begins"),
        pytest.param(dt.date(2026, 3, 23), utc(2026, 3, 31, 16), id="the week ending as BST begins"),
        pytest.param(dt.date(2026, 10, 19), utc(2026, 10, 27, 17), id="the week ending as BST ends"),
        pytest.param(dt.date(2026, 10, 12), utc(2026, 10, 20, 16), id="the last whole BST week"),
    ],
)
def test_the_deadline_is_tuesday_17_00_london_whatever_the_clocks(
    week_start: dt.date, deadline_utc: dt.datetime
) -> None:
    deadline = calendar.week_deadline(week_start, closed=[])
    assert deadline == deadline_utc
    in_london = deadline.astimezone(LONDON)
    assert (in_london.weekday(), in_london.time()) == (1, dt.time(17, 0))
    assert in_london.date() == week_start + dt.timedelta(days=8)


def deadline_utc(week_start: dt.date) -> dt.datetime:
    # In UTC: Python subtracts two times of one zone by their wall clocks, whatever the offsets.
    return calendar.week_deadline(week_start, closed=[]).astimezone(UTC)


def test_deadlines_either_side_of_a_clock_change_are_a_week_and_an_hour_apart() -> None:
    assert deadline_utc(dt.date(2026, 3, 23)) - deadline_utc(dt.date(2026, 3, 16)) == dt.timedelta(
        days=7, hours=-1
    )
    assert deadline_utc(dt.date(2026, 10, 19)) - deadline_utc(dt.date(2026, 10, 12)) == dt.timedelta(
        days=7, hours=1
    )


def test_a_closure_day_on_the_tuesday_moves_the_deadline_to_wednesday() -> None:
    assert calendar.week_deadline(dt.date(2026, 11, 2), closed=[dt.date(2026, 11, 10)]) == london(
        2026, 11, 11, 17
    )


def test_a_run_of_closure_days_and_a_weekend_moves_it_to_the_next_working_day() -> None:
    # Christmas 2026: the week of 21 December is due Tuesday 29 December; the council is closed from
    # then to New Year's Day (a Friday), so the deadline is Monday 4 January 2027.
    closed = [dt.date(2026, 12, 29), dt.date(2026, 12, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 1)]
    assert calendar.deadline_day(dt.date(2026, 12, 21), closed) == dt.date(2027, 1, 4)
    assert calendar.week_deadline(dt.date(2026, 12, 21), closed=closed) == utc(2027, 1, 4, 17)


def test_closure_days_elsewhere_do_not_move_it() -> None:
    closed = [dt.date(2026, 11, 9), dt.date(2026, 11, 11)]  # the Monday before, the Wednesday after
    assert calendar.deadline_day(dt.date(2026, 11, 2), closed) == dt.date(2026, 11, 10)


@pytest.mark.django_db
def test_the_deadline_reads_the_closure_days_staff_keep() -> None:
    assert calendar.week_deadline(dt.date(2026, 11, 2)) == london(2026, 11, 10, 17)
    ClosureDay.objects.create(day=dt.date(2026, 11, 10), name="Council closure")
    assert calendar.week_deadline(dt.date(2026, 11, 2)) == london(2026, 11, 11, 17)


# The week due ------------------------------------------------------------------------------------

LAST_WEEK, THIS_WEEK = dt.date(2026, 11, 2), dt.date(2026, 11, 9)


@pytest.mark.parametrize(
    ("now", "due"),
    [
        pytest.param(london(2026, 11, 9, 0, 0), LAST_WEEK, id="Monday midnight"),
        pytest.param(london(2026, 11, 9, 9, 0), LAST_WEEK, id="Monday morning"),
        pytest.param(london(2026, 11, 10, 16, 59), LAST_WEEK, id="Tuesday 16:59"),
        pytest.param(london(2026, 11, 10, 17, 0), THIS_WEEK, id="Tuesday 17:00"),
        pytest.param(london(2026, 11, 10, 17, 1), THIS_WEEK, id="Tuesday 17:01"),
        pytest.param(london(2026, 11, 11, 9, 0), THIS_WEEK, id="Wednesday"),
        pytest.param(london(2026, 11, 15, 23, 59), THIS_WEEK, id="Sunday night"),
    ],
)
def test_the_week_due(now: dt.datetime, due: dt.date) -> None:
    assert calendar.week_due(now, closed=[]) == due


def test_the_week_due_in_summer_turns_at_16_00_utc() -> None:
    assert calendar.week_due(utc(2026, 6, 9, 15, 59), closed=[]) == dt.date(2026, 6, 1)
    assert calendar.week_due(utc(2026, 6, 9, 16, 0), closed=[]) == dt.date(2026, 6, 8)


def test_a_closure_day_on_the_tuesday_keeps_last_week_due_until_wednesday_17_00() -> None:
    closed = [dt.date(2026, 11, 10)]
    assert calendar.week_due(london(2026, 11, 10, 18, 0), closed=closed) == LAST_WEEK
    assert calendar.week_due(london(2026, 11, 11, 16, 59), closed=closed) == LAST_WEEK
    assert calendar.week_due(london(2026, 11, 11, 17, 0), closed=closed) == THIS_WEEK


@pytest.mark.django_db
def test_the_week_due_follows_the_clock_and_the_stored_closure_days() -> None:
    ClosureDay.objects.create(day=dt.date(2026, 11, 10), name="Council closure")
    with time_machine.travel(london(2026, 11, 10, 18, 0), tick=False):
        assert calendar.week_due() == LAST_WEEK


def test_a_week_has_ended_from_midnight_london_on_the_monday_after() -> None:
    """00:30 on a summer Monday in London is still Sunday in UTC: the week has ended all the same."""
    week = dt.date(2026, 6, 1)
    with time_machine.travel(london(2026, 6, 7, 23, 59), tick=False):
        assert not calendar.week_has_ended(week)
    with time_machine.travel(london(2026, 6, 8, 0, 30), tick=False):
        assert clock.now().date() == dt.date(2026, 6, 7)  # UTC
        assert calendar.week_has_ended(week)


def test_week_start_end_and_label() -> None:
    assert calendar.week_start_of(dt.date(2026, 11, 8)) == dt.date(2026, 11, 2)  # a Sunday
    assert calendar.week_start_of(dt.date(2026, 11, 2)) == dt.date(2026, 11, 2)
    assert calendar.week_end(dt.date(2026, 11, 2)) == dt.date(2026, 11, 8)
    assert calendar.is_week_start(dt.date(2026, 11, 2)) and not calendar.is_week_start(dt.date(2026, 11, 3))
    assert calendar.week_label(dt.date(2026, 11, 2)) == "Week of 2 Nov 2026"


# Days active and the pro-rated plan ----------------------------------------------------------------

WEEK = dt.date(2026, 11, 2)
THURSDAY, TUESDAY = WEEK + dt.timedelta(days=3), WEEK + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        pytest.param(dt.date(2025, 4, 7), None, 7, id="running, open-ended"),
        pytest.param(THURSDAY, None, 4, id="starts Thursday"),
        pytest.param(dt.date(2025, 4, 7), TUESDAY, 2, id="ends Tuesday"),
        pytest.param(TUESDAY, THURSDAY, 3, id="Tuesday to Thursday"),
        pytest.param(THURSDAY, THURSDAY, 1, id="one day"),
        pytest.param(WEEK, WEEK + dt.timedelta(days=6), 7, id="exactly the week"),
        pytest.param(dt.date(2025, 4, 7), WEEK - dt.timedelta(days=1), 0, id="ended the Sunday before"),
        pytest.param(WEEK + dt.timedelta(days=7), None, 0, id="starts the Monday after"),
    ],
)
def test_days_active(start: dt.date, end: dt.date | None, days: int) -> None:
    assert calendar.days_active(start_date=start, end_date=end, week_start=WEEK) == days


def test_a_week_with_a_clock_change_has_seven_days() -> None:
    assert (
        calendar.days_active(start_date=dt.date(2026, 1, 5), end_date=None, week_start=dt.date(2026, 3, 23))
        == 7
    )


def plan(kind: dict, planned: str, **dates: dt.date | None) -> Decimal:
    line = CarePackageLineFactory.build(
        service_type=ServiceTypeFactory.build(**kind), planned_per_week=D(planned), **dates
    )
    return planned_for_week(line=line, week_start=WEEK)


def test_a_line_running_all_week_plans_its_weekly_quantity() -> None:
    assert plan(HOME_SUPPORT, "10.50") == D("10.50")


def test_a_line_starting_thursday_plans_four_sevenths() -> None:
    assert plan(HOME_SUPPORT, "10.50", start_date=THURSDAY) == D("6.00")  # 10.5 × 4/7 = 6


def test_a_line_ending_tuesday_plans_two_sevenths() -> None:
    assert plan(HOME_SUPPORT, "10.50", end_date=TUESDAY) == D("3.00")


@pytest.mark.parametrize(
    ("planned", "dates", "expected"),
    [
        pytest.param("8", {"start_date": THURSDAY}, "4.50", id="4.571 h → 4.5"),
        pytest.param("8", {"end_date": TUESDAY}, "2.25", id="2.286 h → 2.25"),
        pytest.param("8", {"start_date": THURSDAY, "end_date": THURSDAY}, "1.25", id="1.143 h → 1.25"),
    ],
)
def test_a_pro_rated_plan_rounds_to_the_nearest_quarter_hour(
    planned: str, dates: dict, expected: str
) -> None:
    assert plan(HOME_SUPPORT, planned, **dates) == D(expected)


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        pytest.param({"start_date": WEEK + dt.timedelta(days=6)}, "1", id="0.5 sessions → 1"),
        pytest.param({"start_date": WEEK + dt.timedelta(days=4)}, "2", id="1.5 sessions → 2"),
        pytest.param({"start_date": WEEK + dt.timedelta(days=2)}, "3", id="2.5 sessions → 3, not 2"),
    ],
)
def test_a_pro_rated_plan_exactly_between_steps_rounds_half_up(dates: dict, expected: str) -> None:
    assert plan(DAY_CARE, "3.50", **dates) == D(expected)


def test_round_to_step_is_half_up() -> None:
    assert round_to_step(D("6.125"), D("0.25")) == D("6.25")
    assert round_to_step(D("6.1249"), D("0.25")) == D("6.00")
    assert round_to_step(D("2.5"), D("1")) == D("3.00")


def test_a_line_not_running_in_the_week_plans_nothing() -> None:
    assert plan(HOME_SUPPORT, "10.50", start_date=WEEK + dt.timedelta(days=7)) == D("0")
