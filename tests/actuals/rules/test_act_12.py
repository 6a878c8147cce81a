"""ACT-12 (acknowledge): service on a suspended care package line."""

from __future__ import annotations

from actuals.rules import ACKNOWLEDGE, rule_by_id, service_on_suspended_line
from portal.providers.models import CarePackageLine
from tests.actuals.conftest import facts

SUSPENDED = CarePackageLine.Status.SUSPENDED


def test_needs_acknowledging() -> None:
    assert rule_by_id("ACT-12").severity == ACKNOWLEDGE


def test_service_on_a_suspended_line_fires() -> None:
    assert service_on_suspended_line(facts(status=SUSPENDED, delivered="2", comment="x")) == (
        "The care package line is suspended, but service is recorded on it."
    )


def test_extras_alone_count_as_service() -> None:
    f = facts(status=SUSPENDED, delivered="0", extra="1", adjustment_form_ref="A", comment="x")
    assert service_on_suspended_line(f) is not None


def test_nothing_on_a_suspended_line_passes() -> None:
    assert service_on_suspended_line(facts(status=SUSPENDED, delivered="0")) is None


def test_service_on_an_active_line_passes() -> None:
    assert service_on_suspended_line(facts(status=CarePackageLine.Status.ACTIVE)) is None
