"""ACT-08 (blocking): a duplicate — the person has another line of the same service, plan and rate in
the week, and both claim delivery. `duplicates_in` finds them across the week; the rule reports them."""

from __future__ import annotations

from decimal import Decimal

from actuals.rules import BLOCKING, LineFacts, duplicate_line, duplicates_in, rule_by_id
from tests.actuals.conftest import facts


def test_is_blocking() -> None:
    assert rule_by_id("ACT-08").severity == BLOCKING


def test_a_line_marked_as_a_duplicate_fires_naming_the_other() -> None:
    message = duplicate_line(facts(duplicate_of="CPL0000042"))
    assert message is not None
    assert message.startswith(
        "This looks like a duplicate of line CPL0000042 (same person, service, plan and rate)."
    )


def test_a_line_not_marked_passes() -> None:
    assert duplicate_line(facts()) is None


def line(
    ref: str, *, person: int = 1, service_type: int = 1, rate: str = "23.40", **quantities: str
) -> LineFacts:
    f = facts(ref=ref, rate=Decimal(rate), **quantities)
    f.care_package_line.service_user_id = person
    f.care_package_line.service_type_id = service_type
    return f


def test_two_lines_alike_both_delivering_point_at_each_other() -> None:
    found = duplicates_in([(1, line("CPL-A")), (2, line("CPL-B"))])
    assert found == {1: "CPL-B", 2: "CPL-A"}


def test_one_recorded_as_not_delivered_is_no_duplicate() -> None:
    found = duplicates_in([(1, line("CPL-A")), (2, line("CPL-B", delivered="0", missed="10.50"))])
    assert found == {}


def test_extras_count_as_delivery() -> None:
    other = line("CPL-B", delivered="0", extra="1", adjustment_form_ref="ADJ")
    assert duplicates_in([(1, line("CPL-A")), (2, other)]) == {1: "CPL-B", 2: "CPL-A"}


def test_lines_that_differ_in_person_service_plan_or_rate_are_not_duplicates() -> None:
    first = (1, line("CPL-A"))
    assert duplicates_in([first, (2, line("CPL-B", person=2))]) == {}
    assert duplicates_in([first, (2, line("CPL-B", service_type=2))]) == {}
    assert duplicates_in([first, (2, line("CPL-B", planned="7"))]) == {}
    assert duplicates_in([first, (2, line("CPL-B", rate="24.00"))]) == {}


def test_three_alike_each_point_at_another() -> None:
    found = duplicates_in([(1, line("CPL-A")), (2, line("CPL-B")), (3, line("CPL-C"))])
    assert set(found) == {1, 2, 3}
    assert all(found[key] != ref for key, ref in [(1, "CPL-A"), (2, "CPL-B"), (3, "CPL-C")])
