"""ACT-10 (blocking): missed sessions on a service paid on plan by the session (day care): record them as
frustrated."""

from __future__ import annotations

from actuals.rules import BLOCKING, missed_session_on_plan, rule_by_id
from tests.actuals.conftest import DAY_CARE, HOME_SUPPORT, SUPPORTED_LIVING, facts


def test_is_blocking() -> None:
    assert rule_by_id("ACT-10").severity == BLOCKING


def test_missed_day_care_sessions_fire() -> None:
    f = facts(kind=DAY_CARE, planned="3", delivered="2", missed="1", comment="Did not come on Friday")
    assert missed_session_on_plan(f) == (
        "Day care records sessions the person did not attend as frustrated, not missed: move them to frustrated."
    )


def test_frustrated_day_care_sessions_pass() -> None:
    f = facts(kind=DAY_CARE, planned="3", delivered="2", frustrated="1", comment="Did not come on Friday")
    assert missed_session_on_plan(f) is None


def test_missed_on_other_services_passes() -> None:
    assert missed_session_on_plan(facts(kind=HOME_SUPPORT, delivered="9.5", missed="1", comment="x")) is None
    assert (
        missed_session_on_plan(
            facts(kind=SUPPORTED_LIVING, planned="40", delivered="38", missed="2", comment="x")
        )
        is None
    )
