"""ACT-07 (blocking): nothing delivered, with no frustrated or missed quantity to explain it (a nil
return, or a suspended line, explains itself)."""

from __future__ import annotations

import pytest

from actuals.rules import BLOCKING, nothing_delivered_unexplained, rule_by_id
from portal.providers.models import CarePackageLine
from tests.actuals.conftest import facts, rule_ids


def test_is_blocking() -> None:
    assert rule_by_id("ACT-07").severity == BLOCKING


def test_nothing_delivered_and_nothing_said_fires() -> None:
    assert nothing_delivered_unexplained(facts(delivered="0", comment="Away")) == (
        "Nothing was delivered: record the frustrated or missed quantity that explains why."
    )


@pytest.mark.parametrize("explanation", [{"frustrated": "10.50"}, {"missed": "0.25"}])
def test_a_frustrated_or_missed_quantity_explains_it(explanation: dict) -> None:
    assert nothing_delivered_unexplained(facts(delivered="0", comment="Hospital", **explanation)) is None


def test_a_nil_return_explains_itself() -> None:
    f = facts(delivered="0", no_service=True, comment="No service this week (nil return).")
    assert nothing_delivered_unexplained(f) is None
    assert rule_ids(f) == set()


def test_a_suspended_line_explains_itself() -> None:
    f = facts(delivered="0", status=CarePackageLine.Status.SUSPENDED)
    assert nothing_delivered_unexplained(f) is None
    assert rule_ids(f) == set()


def test_nothing_planned_nothing_delivered_passes() -> None:
    assert nothing_delivered_unexplained(facts(planned="0", delivered="0")) is None


def test_something_delivered_passes() -> None:
    assert nothing_delivered_unexplained(facts(delivered="0.25", comment="One short visit")) is None


def test_extras_alone_are_a_delivery_not_nothing() -> None:
    f = facts(delivered="0", extra="2", adjustment_form_ref="ADJ-1", comment="All extra this week")
    assert nothing_delivered_unexplained(f) is None
