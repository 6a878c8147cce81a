"""A death a provider reported in a "service ended or person died" query, confirmed by the council (ACT-16
then flags every provider's later lines for the person) or cleared as reported in error (the flag goes and
the lines' exceptions are checked again); either way the query is answered, and both are audited."""

from __future__ import annotations

import datetime as dt

import pytest

from actuals.models import ActualLine
from disputes import services
from disputes.models import Thread
from disputes.selectors import death_report
from disputes.services_council import CLEAR, CONFIRM, death_report_decide
from portal.audit.models import AuditEvent
from portal.providers.models import ServiceUser
from tests.actuals.conftest import WEEK, actual_of, exception_rules, generate
from tests.conftest import Council
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reported(council: Council, week: dt.date) -> Thread:
    """Alice has lines with providers A and B in WEEK; A reports that she died on its Wednesday."""
    person = council.line_a.service_user
    CarePackageLineFactory(provider=council.provider_b, service_user=person)
    generate(council.provider_a)
    generate(council.provider_b)
    return services.query_raise_service_ended(
        provider=council.provider_a,
        by=council.users["provider_a"],
        person=person,
        report=services.EndReport(died=True, on=WEEK + dt.timedelta(days=2)),
        body="Her daughter rang",
    )


def b_line(council: Council) -> ActualLine:
    return ActualLine.objects.get(
        provider=council.provider_b, care_package_line__service_user__name="Alice Ashworth"
    )


def decide(council: Council, thread: Thread, decision: str, answer: str = "Thank you.") -> Thread:
    return death_report_decide(thread=thread, by=council.users["finance"], decision=decision, answer=answer)


def test_confirming_flags_every_providers_later_lines_and_answers_the_query(
    council: Council, reported: Thread
) -> None:
    assert "ACT-16" not in exception_rules(b_line(council))
    decide(council, reported, CONFIRM, "Brokerage will end the package.")
    person = ServiceUser.objects.get(pk=council.line_a.service_user_id)
    assert (person.death_reported_on, person.death_reported_by, person.death_confirmed_by) == (
        WEEK + dt.timedelta(days=2),
        council.provider_a,
        council.users["finance"],
    )
    assert person.death_confirmed_at is not None and person.deceased_on is None
    theirs = b_line(council).exceptions.get(rule="ACT-16")
    assert theirs.message.startswith("The council has confirmed that Alice Ashworth died on 4 November 2026")
    assert (
        actual_of(council.line_a)
        .exceptions.get(rule="ACT-16")
        .message.startswith("The council has confirmed")
    )
    reported.refresh_from_db()
    assert (reported.state, reported.outcome) == ("resolved", "answered")
    assert reported.messages.last().body == (
        "The council has confirmed that Alice Ashworth died on 4 November 2026. Brokerage will end the package."
    )
    event = AuditEvent.objects.get(action="disputes.death.confirmed")
    assert event.data["lines_checked"] == 2 and event.data["thread"] == reported.ref
    assert AuditEvent.objects.filter(action="disputes.query.answered", object_id=str(reported.pk)).exists()


def test_clearing_removes_the_flag_and_answers_the_query(council: Council, reported: Thread) -> None:
    assert "ACT-16" in exception_rules(actual_of(council.line_a))
    decide(council, reported, CLEAR, "She is well: the report was about someone else.")
    person = ServiceUser.objects.get(pk=council.line_a.service_user_id)
    assert (person.death_reported_on, person.death_reported_by, person.death_confirmed_at) == (
        None,
        None,
        None,
    )
    assert "ACT-16" not in exception_rules(actual_of(council.line_a))
    reported.refresh_from_db()
    assert reported.state == "resolved"
    assert reported.messages.last().body.startswith(
        "The council has cleared the report that Alice Ashworth died"
    )
    assert AuditEvent.objects.get(action="disputes.death.cleared").data["was_confirmed"] is False


def test_a_confirmed_death_cleared_later_flags_nobody(council: Council, reported: Thread) -> None:
    decide(council, reported, CONFIRM)
    services.thread_reopen(thread=reported, by=council.users["finance"], provider=None, reason="Wrong person")
    decide(council, reported, CLEAR)
    assert "ACT-16" not in exception_rules(b_line(council))
    assert "ACT-16" not in exception_rules(actual_of(council.line_a))
    assert AuditEvent.objects.get(action="disputes.death.cleared").data["was_confirmed"] is True


def test_a_report_another_one_replaced_is_not_cleared(council: Council, reported: Thread) -> None:
    later = services.query_raise_service_ended(
        provider=council.provider_b,
        by=council.users["provider_b"],
        person=council.line_a.service_user,
        report=services.EndReport(died=True, on=WEEK + dt.timedelta(days=3)),
        body="Died Thursday",
    )
    state = death_report(reported)
    assert state is not None and not state.reported_here and not state.can_clear and state.can_confirm
    with pytest.raises(services.DisputeError, match="no longer holds this report"):
        decide(council, reported, CLEAR)
    person = ServiceUser.objects.get(pk=council.line_a.service_user_id)
    assert (person.death_reported_on, person.death_reported_by) == (
        WEEK + dt.timedelta(days=3),
        council.provider_b,
    )
    reported.refresh_from_db()
    assert reported.is_open and not AuditEvent.objects.filter(action="disputes.death.cleared").exists()
    assert later.is_open


def test_a_death_confirmed_stays_when_another_provider_reports_another_date(
    council: Council, reported: Thread
) -> None:
    decide(council, reported, CONFIRM)
    services.query_raise_service_ended(
        provider=council.provider_b,
        by=council.users["provider_b"],
        person=council.line_a.service_user,
        report=services.EndReport(died=True, on=WEEK + dt.timedelta(days=5)),
        body="Died Saturday",
    )
    person = ServiceUser.objects.get(pk=council.line_a.service_user_id)
    assert (person.death_reported_on, person.death_reported_by) == (
        WEEK + dt.timedelta(days=2),
        council.provider_a,
    )
    assert person.death_confirmed_at is not None


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("recorded", "The back office has recorded that Alice Ashworth died"),
        ("resolved", "This query is resolved: reopen it"),
        ("confirmed", "is confirmed already"),
    ],
)
def test_a_decision_that_cannot_apply_changes_nothing(
    council: Council, reported: Thread, setup: str, message: str
) -> None:
    if setup == "recorded":
        ServiceUser.objects.filter(pk=council.line_a.service_user_id).update(deceased_on=WEEK)
    elif setup == "resolved":
        services.query_answer(thread=reported, by=council.users["finance"], reason="Noted")
    else:
        decide(council, reported, CONFIRM)
        services.thread_reopen(thread=reported, by=council.users["finance"], provider=None, reason="Again")
    before = AuditEvent.objects.count()
    with pytest.raises(services.DisputeError, match=message):
        decide(council, reported, CONFIRM)
    assert AuditEvent.objects.count() == before


def test_only_a_reported_death_is_confirmed_and_only_by_the_council(
    council: Council, reported: Thread
) -> None:
    query = services.query_raise(
        provider=council.provider_a, by=council.users["provider_a"], query_type="payment_query",
        subject="Short", body="Paid short",
    )  # fmt: skip
    assert death_report(query) is None
    with pytest.raises(services.DisputeError, match="Only a query reporting a death"):
        decide(council, query, CONFIRM)
    with pytest.raises(services.DisputeError, match="Only council staff"):
        death_report_decide(thread=reported, by=council.users["provider_a"], decision=CONFIRM, answer="x")
