"""ACT-05 (blocking): service outside the care package line's dates (after it ended, or before it
started)."""

from __future__ import annotations

import datetime as dt

from actuals.rules import BLOCKING, rule_by_id, service_outside_line_dates
from tests.actuals.conftest import WEEK, facts

SUNDAY_BEFORE = WEEK - dt.timedelta(days=1)
WEDNESDAY = WEEK + dt.timedelta(days=2)
MONDAY_AFTER = WEEK + dt.timedelta(days=7)


def test_is_blocking() -> None:
    assert rule_by_id("ACT-05").severity == BLOCKING


def test_service_on_a_line_that_ended_before_the_week_fires() -> None:
    message = service_outside_line_dates(facts(delivered="2", end_date=SUNDAY_BEFORE, comment="x"))
    assert message is not None
    assert message.startswith("The care package line ended on 1 November 2026, before this week")


def test_extras_alone_count_as_service() -> None:
    f = facts(delivered="0", extra="1", adjustment_form_ref="ADJ-1", end_date=SUNDAY_BEFORE, comment="x")
    assert service_outside_line_dates(f) is not None


def test_service_on_a_line_that_starts_after_the_week_fires() -> None:
    f = facts(delivered="2", start_date=MONDAY_AFTER, comment="x")
    assert service_outside_line_dates(f) == (
        "The care package line starts on 9 November 2026, after this week: nothing can be delivered on it yet."
    )


def test_nothing_delivered_outside_the_dates_passes() -> None:
    assert service_outside_line_dates(facts(delivered="0", end_date=SUNDAY_BEFORE, missed="2")) is None
    assert service_outside_line_dates(facts(delivered="0", start_date=MONDAY_AFTER, missed="2")) is None


def test_a_line_ending_or_starting_within_the_week_passes() -> None:
    assert service_outside_line_dates(facts(delivered="4", end_date=WEDNESDAY, comment="x")) is None
    assert service_outside_line_dates(facts(delivered="4", start_date=WEDNESDAY, comment="x")) is None
    assert service_outside_line_dates(facts(end_date=WEEK)) is None
    assert service_outside_line_dates(facts(start_date=WEEK + dt.timedelta(days=6))) is None
