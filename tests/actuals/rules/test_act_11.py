"""ACT-11 (acknowledge): over plan beyond the service type's tolerance, with an adjustment form
reference."""

from __future__ import annotations

from actuals.rules import ACKNOWLEDGE, over_plan_with_reference, rule_by_id
from tests.actuals.conftest import facts, rule_ids


def test_needs_acknowledging() -> None:
    assert rule_by_id("ACT-11").severity == ACKNOWLEDGE


def test_extras_beyond_the_tolerance_with_a_reference_fire() -> None:
    f = facts(planned="10", delivered="10", extra="2", adjustment_form_ref=" ADJ-1234 ", comment="Agreed")
    assert over_plan_with_reference(f) == (
        "12 hours is over the plan of 10 beyond the 10% tolerance (adjustment ADJ-1234)."
    )
    assert rule_ids(f) == {"ACT-11"}  # nothing blocks: it only needs a reason


def test_delivered_beyond_the_tolerance_with_a_reference_fires() -> None:
    assert over_plan_with_reference(
        facts(planned="10", delivered="11.25", adjustment_form_ref="A", comment="x")
    )


def test_within_the_tolerance_passes() -> None:
    f = facts(planned="10", delivered="10", extra="1", adjustment_form_ref="ADJ-1", comment="Agreed")
    assert over_plan_with_reference(f) is None


def test_without_a_reference_it_is_a_blocking_rule_instead() -> None:
    f = facts(planned="10", delivered="12", comment="x")
    assert over_plan_with_reference(f) is None
    assert "ACT-09" in rule_ids(f)
