"""ACT-01 (blocking): quantities must be whole steps of the service type's unit (home support 0.25 h;
sessions, nights, trips and meals whole units)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actuals.rules import BLOCKING, quantity_off_step, rule_by_id
from tests.actuals.conftest import DAY_CARE, facts, rule_ids

FIELDS = ["delivered", "frustrated", "missed", "extra"]
STEPS = [Decimal("0.25"), Decimal("0.5"), Decimal("1")]
# The autouse mail fixture is per test, not per example; nothing here touches it.
examples = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_is_blocking() -> None:
    assert rule_by_id("ACT-01").severity == BLOCKING


@examples
@given(step=st.sampled_from(STEPS), steps=st.integers(0, 4000), field=st.sampled_from(FIELDS))
def test_any_whole_number_of_steps_passes(step: Decimal, steps: int, field: str) -> None:
    quantities = {"planned": "0", "delivered": "0", field: str(step * steps)}
    assert quantity_off_step(facts(service_type_fields={"step": step}, **quantities)) is None


@examples
@given(data=st.data(), step=st.sampled_from(STEPS), steps=st.integers(0, 4000), field=st.sampled_from(FIELDS))
def test_any_quantity_between_steps_fails(data: st.DataObject, step: Decimal, steps: int, field: str) -> None:
    hundredths = data.draw(st.integers(1, int(step * 100) - 1), label="hundredths past a step")
    value = step * steps + Decimal(hundredths) / 100
    quantities = {"planned": "0", "delivered": "0", field: str(value)}
    message = quantity_off_step(facts(service_type_fields={"step": step}, **quantities))
    assert message is not None
    assert message.startswith(f"{field.capitalize()} must be in steps of")
    assert f"{value.normalize():f} is not" in message


def test_the_message_names_the_step_the_unit_and_the_value() -> None:
    f = facts(delivered="7.1", comment="Short visit")
    assert quantity_off_step(f) == (
        "Delivered must be in steps of 0.25 hours: 7.1 is not. Round it to the nearest step."
    )


def test_sessions_are_whole_units() -> None:
    assert "ACT-01" in rule_ids(facts(kind=DAY_CARE, planned="3", delivered="2.5", comment="Left at lunch"))
    assert "ACT-01" not in rule_ids(facts(kind=DAY_CARE, planned="3", delivered="2", comment="Ill one day"))


@pytest.mark.parametrize("field", FIELDS)
def test_every_quantity_is_checked(field: str) -> None:
    message = quantity_off_step(facts(**{"planned": "10.50", "delivered": "10.50", field: "0.30"}))
    assert message is not None and message.startswith(field.capitalize())


def test_a_line_as_generated_passes() -> None:
    assert quantity_off_step(facts(planned="10.50")) is None
