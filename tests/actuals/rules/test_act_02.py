"""ACT-02 (blocking): extras where the service type does not allow them (supported living, fostering)."""

from __future__ import annotations

from actuals.rules import BLOCKING, extras_not_allowed, rule_by_id
from tests.actuals.conftest import HOME_SUPPORT, SUPPORTED_LIVING, facts, rule_ids


def test_is_blocking() -> None:
    assert rule_by_id("ACT-02").severity == BLOCKING


def test_extras_on_supported_living_fire_even_with_a_reference() -> None:
    f = facts(
        kind=SUPPORTED_LIVING, planned="40", extra="2", adjustment_form_ref="ADJ-7", comment="Bad night"
    )
    assert extras_not_allowed(f) == "Supported living does not allow extras: remove the 2 extra hours."


def test_supported_living_without_extras_passes() -> None:
    assert extras_not_allowed(facts(kind=SUPPORTED_LIVING, planned="40")) is None


def test_extras_on_a_service_that_allows_them_are_not_this_rule() -> None:
    f = facts(kind=HOME_SUPPORT, extra="2", adjustment_form_ref="ADJ-7", comment="Extra visit")
    assert extras_not_allowed(f) is None
    assert "ACT-02" not in rule_ids(f)
