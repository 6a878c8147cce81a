"""ACT-13 (acknowledge): frustrated or missed above half the plan."""

from __future__ import annotations

from actuals.rules import ACKNOWLEDGE, frustrated_or_missed_above_half, rule_by_id
from tests.actuals.conftest import facts


def test_needs_acknowledging() -> None:
    assert rule_by_id("ACT-13").severity == ACKNOWLEDGE


def test_frustrated_above_half_fires() -> None:
    f = facts(planned="10.50", delivered="4.50", frustrated="6", comment="In hospital from Wednesday")
    assert (
        frustrated_or_missed_above_half(f)
        == "6 hours frustrated or missed is more than half the plan of 10.5."
    )


def test_frustrated_and_missed_together_count() -> None:
    f = facts(planned="10", delivered="4", frustrated="3", missed="3", comment="x")
    assert frustrated_or_missed_above_half(f) is not None


def test_exactly_half_passes() -> None:
    f = facts(planned="10.50", delivered="5.25", frustrated="5.25", comment="x")
    assert frustrated_or_missed_above_half(f) is None


def test_nothing_planned_passes() -> None:
    assert frustrated_or_missed_above_half(facts(planned="0", delivered="0", missed="1", comment="x")) is None
