"""ACT-04 (blocking): a line that differs from plan without a comment saying why."""

from __future__ import annotations

import pytest

from actuals.rules import BLOCKING, rule_by_id, variance_without_comment
from portal.providers.models import CarePackageLine
from tests.actuals.conftest import facts

VARIANCES = [
    {"delivered": "9.75"},
    {"delivered": "10.50", "frustrated": "0.75"},
    {"delivered": "10.50", "missed": "0.50"},
    {"delivered": "10.50", "extra": "1", "adjustment_form_ref": "ADJ-1"},
]


def test_is_blocking() -> None:
    assert rule_by_id("ACT-04").severity == BLOCKING


@pytest.mark.parametrize("variance", VARIANCES)
@pytest.mark.parametrize("comment", ["", "  \n "])
def test_a_variance_without_a_comment_fires(variance: dict, comment: str) -> None:
    assert variance_without_comment(facts(comment=comment, **variance)) == (
        "The line differs from plan: add a comment saying why."
    )


@pytest.mark.parametrize("variance", VARIANCES)
def test_a_variance_with_a_comment_passes(variance: dict) -> None:
    assert variance_without_comment(facts(comment="Hospital appointment on Tuesday", **variance)) is None


def test_a_line_as_planned_needs_no_comment() -> None:
    assert variance_without_comment(facts(planned="10.50", delivered="10.50")) is None


def test_a_suspended_line_with_nothing_recorded_needs_no_comment() -> None:
    """Generated that way (delivered 0): the suspension is the reason."""
    f = facts(delivered="0", status=CarePackageLine.Status.SUSPENDED)
    assert variance_without_comment(f) is None


def test_service_recorded_on_a_suspended_line_needs_a_comment() -> None:
    f = facts(delivered="3", status=CarePackageLine.Status.SUSPENDED)
    assert variance_without_comment(f) is not None
