"""ACT-14 (acknowledge): the person was reported deceased during the week."""

from __future__ import annotations

import datetime as dt

import pytest

from actuals.rules import ACKNOWLEDGE, died_during_the_week, rule_by_id
from tests.actuals.conftest import WEEK, facts


def test_needs_acknowledging() -> None:
    assert rule_by_id("ACT-14").severity == ACKNOWLEDGE


@pytest.mark.parametrize("days_in", [0, 3, 6])
def test_a_death_on_any_day_of_the_week_fires(days_in: int) -> None:
    died = WEEK + dt.timedelta(days=days_in)
    message = died_during_the_week(facts(deceased_on=died))
    assert message == (
        f"Alice Ashworth died on {died.day} November 2026, during this week. "
        "Check the service recorded after that day."
    )


@pytest.mark.parametrize("days", [-1, 7])
def test_a_death_outside_the_week_passes(days: int) -> None:
    assert died_during_the_week(facts(deceased_on=WEEK + dt.timedelta(days=days))) is None


def test_a_living_person_passes() -> None:
    assert died_during_the_week(facts()) is None
