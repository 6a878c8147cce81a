"""The rules engine itself: every rule registered once with its text, findings blocking first, messages
fit the stored column."""

from __future__ import annotations

import datetime as dt

from actuals.rules import ACKNOWLEDGE, BLOCKING, RULES, evaluate
from tests.actuals.conftest import WEEK, facts


def test_the_rules_are_registered_once_each_with_a_severity_and_a_text() -> None:
    assert sorted(r.id for r in RULES) == [f"ACT-{n:02d}" for n in range(1, 17)]
    assert {r.severity for r in RULES} == {BLOCKING, ACKNOWLEDGE}
    for r in RULES:
        assert r.text.endswith("."), (r.id, r.text)  # a whole sentence, not a wrapped first line
        assert not r.explanation or r.explanation[0].isupper(), (r.id, r.explanation)


def test_a_line_as_generated_breaks_nothing() -> None:
    assert evaluate(facts()) == []


def test_findings_come_blocking_first_then_by_rule() -> None:
    f = facts(
        planned="10",
        delivered="2.1",
        frustrated="8",
        deceased_on=WEEK + dt.timedelta(days=1),
    )
    found = [(x.rule, x.severity) for x in evaluate(f)]
    assert found == [
        ("ACT-01", BLOCKING),
        ("ACT-04", BLOCKING),
        ("ACT-13", ACKNOWLEDGE),
        ("ACT-14", ACKNOWLEDGE),
    ]


def test_messages_fit_the_column() -> None:
    f = facts(duplicate_of="X" * 600)
    assert all(len(x.message) <= 400 for x in evaluate(f))
