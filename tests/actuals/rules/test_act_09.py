"""ACT-09 (blocking): delivered beyond the plan and the service type's tolerance, with no adjustment form
reference (services paid on actuals)."""

from __future__ import annotations

from actuals.rules import BLOCKING, over_plan_without_reference, rule_by_id
from tests.actuals.conftest import DAY_CARE, facts, rule_ids


def test_is_blocking() -> None:
    assert rule_by_id("ACT-09").severity == BLOCKING


def test_over_the_tolerance_without_a_reference_fires() -> None:
    # 10 h planned, 10% tolerance: 11 h allowed.
    assert over_plan_without_reference(facts(planned="10", delivered="11.25", comment="x")) == (
        "11.25 hours delivered is more than the plan of 10 allows (10% tolerance): record the difference "
        "as extra, with its adjustment form reference."
    )


def test_within_the_tolerance_passes() -> None:
    assert over_plan_without_reference(facts(planned="10", delivered="11", comment="x")) is None
    assert over_plan_without_reference(facts(planned="10", delivered="10.75", comment="x")) is None


def test_with_a_reference_it_is_ACT_11_instead() -> None:
    f = facts(planned="10", delivered="12", adjustment_form_ref="ADJ-9", comment="x")
    assert over_plan_without_reference(f) is None
    assert "ACT-11" in rule_ids(f)


def test_over_plan_recorded_as_extra_is_left_to_the_extra_rules() -> None:
    f = facts(planned="10", delivered="10", extra="3", comment="x")
    assert over_plan_without_reference(f) is None
    assert "ACT-03" in rule_ids(f)


def test_a_service_paid_on_plan_passes() -> None:
    assert over_plan_without_reference(facts(kind=DAY_CARE, planned="3", delivered="5", comment="x")) is None
