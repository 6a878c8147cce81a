"""ACT-06 (blocking): service after the date of death of the person (when they died before the week
began)."""

from __future__ import annotations

import datetime as dt

from actuals.rules import BLOCKING, rule_by_id, service_after_death
from tests.actuals.conftest import WEEK, facts, rule_ids


def test_is_blocking() -> None:
    assert rule_by_id("ACT-06").severity == BLOCKING


def test_service_after_a_death_before_the_week_fires() -> None:
    f = facts(deceased_on=WEEK - dt.timedelta(days=3))
    assert service_after_death(f) == (
        "Alice Ashworth died on 30 October 2026, before this week: nothing can be delivered. "
        "Set delivered to 0, or tell brokerage the date of death is wrong."
    )


def test_extras_alone_count_as_service() -> None:
    f = facts(delivered="0", extra="1", adjustment_form_ref="A", deceased_on=WEEK - dt.timedelta(days=1))
    assert service_after_death(f) is not None


def test_nothing_delivered_after_a_death_passes() -> None:
    assert (
        service_after_death(facts(delivered="0", missed="10.50", deceased_on=WEEK - dt.timedelta(days=1)))
        is None
    )


def test_a_death_during_the_week_is_ACT_14_not_this_rule() -> None:
    f = facts(deceased_on=WEEK)
    assert service_after_death(f) is None
    assert "ACT-14" in rule_ids(f)


def test_a_living_person_passes() -> None:
    assert service_after_death(facts()) is None
