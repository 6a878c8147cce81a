"""ACT-16 (acknowledge): service recorded after a death a provider reported (the reporting provider's lines
only) or the council confirmed (every provider's), which the back office has not recorded yet."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from actuals.rules import ACKNOWLEDGE, LineFacts, rule_by_id, service_after_a_reported_death
from tests.actuals.conftest import WEEK, facts


def reported(on: dt.date, *, by_provider: int = 1, confirmed: bool = False, **kwargs: Any) -> LineFacts:
    """The facts of a line of provider 1's, its person reported dead on `on` by provider `by_provider`
    (and the report confirmed by the council, when `confirmed`)."""
    f = facts(**kwargs)
    f.care_package_line.provider_id = 1
    f.person.death_reported_on, f.person.death_reported_by_id = on, by_provider
    f.person.death_confirmed_at = dt.datetime(2026, 11, 9, 10, tzinfo=dt.UTC) if confirmed else None
    return f


def test_needs_acknowledging() -> None:
    assert rule_by_id("ACT-16").severity == ACKNOWLEDGE


@pytest.mark.parametrize("days", [-14, 0, 6])
def test_service_on_or_after_the_reported_week_fires(days: int) -> None:
    on = WEEK + dt.timedelta(days=days)
    message = service_after_a_reported_death(reported(on))
    assert message == (
        f"A provider reported that Alice Ashworth died on {on.day} {on:%B %Y} (the council has not confirmed "
        "it yet). Check the service recorded after that day."
    )


def test_a_death_reported_after_the_week_passes() -> None:
    assert service_after_a_reported_death(reported(WEEK + dt.timedelta(days=7))) is None


def test_nothing_delivered_passes() -> None:
    assert service_after_a_reported_death(reported(WEEK, delivered="0", missed="10.50")) is None


def test_once_the_council_records_the_death_its_own_rules_apply() -> None:
    f = reported(WEEK, deceased_on=WEEK)
    assert service_after_a_reported_death(f) is None


def test_a_death_another_provider_reported_waits_for_the_council() -> None:
    assert service_after_a_reported_death(reported(WEEK, by_provider=2)) is None


@pytest.mark.parametrize("by_provider", [1, 2])
def test_once_the_council_confirms_the_report_every_providers_lines_are_flagged(by_provider: int) -> None:
    message = service_after_a_reported_death(reported(WEEK, by_provider=by_provider, confirmed=True))
    assert message == (
        f"The council has confirmed that Alice Ashworth died on {WEEK.day} {WEEK:%B %Y}. Check the service "
        "recorded after that day."
    )


def test_a_confirmed_death_after_the_week_passes() -> None:
    f = reported(WEEK + dt.timedelta(days=7), by_provider=2, confirmed=True)
    assert service_after_a_reported_death(f) is None


def test_a_confirmed_death_the_back_office_has_recorded_is_left_to_its_own_rules() -> None:
    assert service_after_a_reported_death(reported(WEEK, confirmed=True, deceased_on=WEEK)) is None
