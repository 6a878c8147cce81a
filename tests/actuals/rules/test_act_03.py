"""ACT-03 (blocking): extras without an adjustment form reference."""

from __future__ import annotations

import pytest

from actuals.rules import BLOCKING, extras_without_reference, rule_by_id
from tests.actuals.conftest import SUPPORTED_LIVING, facts, rule_ids


def test_is_blocking() -> None:
    assert rule_by_id("ACT-03").severity == BLOCKING


@pytest.mark.parametrize("reference", ["", "   "])
def test_extras_without_a_reference_fire(reference: str) -> None:
    f = facts(extra="1.50", adjustment_form_ref=reference, comment="Carer stayed longer")
    message = extras_without_reference(f)
    assert message is not None and "adjustment form reference" in message


def test_extras_with_a_reference_pass() -> None:
    assert (
        extras_without_reference(facts(extra="1.50", adjustment_form_ref="ADJ-123", comment="Agreed")) is None
    )


def test_no_extras_need_no_reference() -> None:
    assert extras_without_reference(facts(delivered="9", comment="Short visit")) is None


def test_extras_a_service_forbids_are_ACT_02_not_this_rule() -> None:
    f = facts(kind=SUPPORTED_LIVING, planned="40", extra="2", comment="Bad night")
    assert rule_ids(f) >= {"ACT-02"}
    assert "ACT-03" not in rule_ids(f)
