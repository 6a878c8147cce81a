"""ACT-15 (blocking): delivered, frustrated and missed together beyond the plan and its tolerance (a
provider cannot be paid for a full delivery and frustrated time on top)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from actuals.rules import BLOCKING, more_accounted_for_than_planned, rule_by_id
from actuals.services import paid_quantity
from tests.actuals.conftest import facts


def test_is_blocking() -> None:
    assert rule_by_id("ACT-15").severity == BLOCKING


@pytest.mark.parametrize(
    ("delivered", "frustrated", "missed"),
    [("10.50", "5", "0"), ("11", "5", "0"), ("10.50", "0", "2"), ("6", "3", "3")],
)
def test_frustrated_or_missed_on_top_of_the_plan_fires(delivered: str, frustrated: str, missed: str) -> None:
    f = facts(delivered=delivered, frustrated=frustrated, missed=missed, comment="Busy week")
    message = more_accounted_for_than_planned(f)
    assert message is not None and "more than the plan of 10.5" in message


@pytest.mark.parametrize(
    ("delivered", "frustrated", "missed"),
    [("6", "4.50", "0"), ("8", "1", "1.50"), ("11.50", "0", "0"), ("10.50", "0", "0"), ("0", "10.50", "0")],
)
def test_what_stays_within_the_plan_passes(delivered: str, frustrated: str, missed: str) -> None:
    f = facts(delivered=delivered, frustrated=frustrated, missed=missed, comment="Hospital")
    assert more_accounted_for_than_planned(f) is None


def test_the_overpayment_it_stops() -> None:
    f = facts(delivered="10.50", frustrated="5", comment="Cancelled visits")
    paid = paid_quantity(
        service_type=f.service_type,
        planned=f.planned,
        delivered=f.delivered,
        frustrated=f.frustrated,
        extra=f.extra,
        adjustment_form_ref="",
    )
    assert paid > f.planned * Decimal("1.1")  # what would be paid without the rule
    assert more_accounted_for_than_planned(f) is not None
