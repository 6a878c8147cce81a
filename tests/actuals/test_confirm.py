"""Acknowledging, confirming, the nil return and the provider's one correction: what blocks a
confirmation, what is sent at once and what is held for review, who and when, late after the deadline,
the receipt, and a corrected line's new version."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from actuals.models import ActualLine, LineException, ProviderWeek
from actuals.services import (
    NIL_RETURN_COMMENT,
    ActualsError,
    LineValues,
    StaleEdit,
    actual_line_correct,
    actual_line_decision_apply,
    exception_acknowledge,
    lines_dispute,
    week_confirm,
    week_nil_return,
)
from contrOCC_sync.models import OutboxMessage
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clock import LONDON
from tests.actuals.conftest import (
    DAY_CARE,
    MONDAY_AFTER,
    WEEK,
    acknowledge_all,
    actual_of,
    amend,
    confirm,
    exception_rules,
    generate,
    service_type,
)
from tests.conftest import Council, email_body
from tests.factories import CarePackageLineFactory, ServiceUserFactory

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status


@pytest.fixture
def deliveries(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The outbox messages whose delivery was queued (on commit), instead of reaching a broker."""
    from contrOCC_sync import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks.outbox_deliver, "delay", queued.append)
    return queued


def submissions() -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.ACTUALS_SUBMISSION).order_by("pk"))


def sent_versions() -> list[tuple[int, int]]:
    return [(line["portal_line_id"], line["version"]) for m in submissions() for line in m.body["lines"]]


# Acknowledging ------------------------------------------------------------------------------------


def frustrated_most_of_the_week(council: Council) -> ActualLine:
    generate(council.provider_a)
    line = amend(
        actual_of(council.line_a),
        council.users["provider_a"],
        delivered="4.50",
        frustrated="6",
        comment="In hospital",
    )
    assert exception_rules(line) == {"ACT-13"}
    return line


def test_acknowledging_records_the_reason(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    line = frustrated_most_of_the_week(council)
    exception = exception_acknowledge(
        provider=council.provider_a,
        line_id=line.pk,
        rule="ACT-13",
        by=user,
        reason="  Admitted on Wednesday ",
    )
    stored = LineException.objects.get(pk=exception.pk)
    assert (stored.reason, stored.acknowledged_by, stored.acknowledged_at) == (
        "Admitted on Wednesday",
        user,
        MONDAY_AFTER,
    )
    assert AuditEvent.objects.filter(action="actuals.exception.acknowledged", data__rule="ACT-13").exists()


@pytest.mark.parametrize(
    ("rule", "reason", "message"),
    [
        ("ACT-13", "  ", "Enter the reason"),
        ("ACT-04", "Because", "no longer on the line"),
    ],
)
def test_acknowledging_needs_a_reason_and_an_exception(
    council: Council, week: dt.date, rule: str, reason: str, message: str
) -> None:
    line = frustrated_most_of_the_week(council)
    with pytest.raises(ActualsError, match=message):
        exception_acknowledge(
            provider=council.provider_a,
            line_id=line.pk,
            rule=rule,
            by=council.users["provider_a"],
            reason=reason,
        )
    assert not line.exceptions.filter(acknowledged_at__isnull=False).exists()


def test_a_blocking_exception_cannot_be_acknowledged(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    line = amend(actual_of(council.line_a), council.users["provider_a"], delivered="9")
    with pytest.raises(ActualsError, match="must be fixed"):
        exception_acknowledge(
            provider=council.provider_a,
            line_id=line.pk,
            rule="ACT-04",
            by=council.users["provider_a"],
            reason="x",
        )


# What blocks a confirmation -----------------------------------------------------------------------


def assert_nothing_confirmed(provider_week: ProviderWeek) -> None:
    provider_week.refresh_from_db()
    assert provider_week.state == ProviderWeek.State.IN_PROGRESS and provider_week.confirmed_at is None
    assert set(provider_week.lines.values_list("status", flat=True)) == {Status.DRAFT}
    assert not OutboxMessage.objects.exists()


def test_a_blocking_exception_blocks_the_confirmation(council: Council, week: dt.date) -> None:
    provider_week = generate(council.provider_a)
    amend(actual_of(council.line_a), council.users["provider_a"], delivered="9.10", comment="Short visit")
    with pytest.raises(ActualsError, match="1 exception must be fixed before you can confirm"):
        confirm(council.provider_a, council.users["provider_a"])
    assert_nothing_confirmed(provider_week)


def test_an_unacknowledged_exception_blocks_the_confirmation(council: Council, week: dt.date) -> None:
    frustrated_most_of_the_week(council)
    with pytest.raises(ActualsError, match="1 exception needs a reason before you can confirm"):
        confirm(council.provider_a, council.users["provider_a"])
    assert_nothing_confirmed(ProviderWeek.objects.get())


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("not generated", "Generate the week's actuals before confirming it"),
        ("no declaration", "Confirm that all payments and amendments are correct"),
        ("twice", "already been confirmed"),
    ],
)
def test_what_else_refuses_a_confirmation(council: Council, week: dt.date, setup: str, message: str) -> None:
    user = council.users["provider_a"]
    if setup != "not generated":
        generate(council.provider_a)
    if setup == "twice":
        confirm(council.provider_a, user)
    with pytest.raises(ActualsError, match=message):
        week_confirm(
            provider=council.provider_a, week_start=WEEK, by=user, declaration=setup != "no declaration"
        )
    assert len(submissions()) == (1 if setup == "twice" else 0)


def test_a_week_cannot_be_confirmed_before_it_ends(council: Council) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 8, 20, 0, tzinfo=LONDON), tick=False):  # its Sunday
        provider_week = generate(council.provider_a)
        with pytest.raises(ActualsError, match="once it has ended"):
            confirm(council.provider_a, council.users["provider_a"])
    assert_nothing_confirmed(provider_week)


# Confirming ---------------------------------------------------------------------------------------


def test_clean_lines_are_sent_and_acknowledged_ones_held(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    clean_cpl = CarePackageLineFactory(provider=council.provider_a, planned_per_week=D("7"), rate=D("22.00"))
    held = frustrated_most_of_the_week(council)
    acknowledge_all(held, user)

    result = confirm(council.provider_a, user)

    assert (result.sent, result.held, result.total, result.held_total) == (1, 1, D("154.00"), held.amount)
    clean, held = actual_of(clean_cpl), actual_of(council.line_a)
    assert (clean.status, clean.sent_at, clean.confirmed_at) == (Status.SENT, MONDAY_AFTER, MONDAY_AFTER)
    assert (held.status, held.sent_at, held.confirmed_at) == (Status.HELD, None, MONDAY_AFTER)
    [message] = submissions()
    assert (message.provider, message.state) == (council.provider_a, OutboxMessage.State.PENDING)
    assert message.body == {
        "provider_ref": council.provider_a.ref,
        "week_start": "2026-11-02",
        "confirmed_at": MONDAY_AFTER.astimezone(dt.UTC).isoformat(),
        "confirmed_by": user.email,
        "lines": [
            {
                "portal_line_id": clean.pk,
                "version": 1,
                "care_package_line_ref": clean_cpl.ref,
                "planned": "7.00",
                "delivered": "7.00",
                "frustrated": "0.00",
                "missed": "0.00",
                "extra": "0.00",
                "adjustment_form_ref": "",
                "comment": "",
                "amount": "154.00",
            }
        ],
    }


def test_the_confirmation_records_who_and_when_and_is_audited(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    generate(council.provider_a)
    confirm(council.provider_a, user)
    provider_week = ProviderWeek.objects.get()
    assert provider_week.state == ProviderWeek.State.CONFIRMED
    assert (provider_week.confirmed_at, provider_week.confirmed_by, provider_week.late) == (
        MONDAY_AFTER,
        user,
        False,
    )
    event = AuditEvent.objects.get(action="actuals.week.confirmed")
    assert (event.actor, event.provider, event.object_id) == (user, council.provider_a, str(provider_week.pk))
    assert event.data == {
        "lines": 1,
        "sent": 1,
        "held": 0,
        "total": "245.70",
        "held_total": "0.00",
        "late": False,
        "nil_return": False,
        "supplementary": False,
    }


@pytest.mark.parametrize(
    ("at", "late"),
    [
        pytest.param(dt.datetime(2026, 11, 10, 16, 59, tzinfo=LONDON), False, id="Tuesday 16:59"),
        pytest.param(dt.datetime(2026, 11, 10, 17, 1, tzinfo=LONDON), True, id="Tuesday 17:01"),
        pytest.param(dt.datetime(2026, 11, 12, 9, 0, tzinfo=LONDON), True, id="Thursday"),
    ],
)
def test_a_confirmation_after_the_deadline_is_late(
    council: Council, week: dt.date, at: dt.datetime, late: bool
) -> None:
    generate(council.provider_a)
    with time_machine.travel(at, tick=False):
        confirm(council.provider_a, council.users["provider_a"])
    assert ProviderWeek.objects.get().late is late


def test_a_closure_day_gives_the_week_until_wednesday(council: Council, week: dt.date) -> None:
    from actuals.models import ClosureDay

    ClosureDay.objects.create(day=dt.date(2026, 11, 10), name="Council closure")
    generate(council.provider_a)
    with time_machine.travel(dt.datetime(2026, 11, 11, 9, 0, tzinfo=LONDON), tick=False):
        confirm(council.provider_a, council.users["provider_a"])
    assert ProviderWeek.objects.get().late is False


def test_the_receipt_is_emailed_and_delivery_queued_once_committed(
    council: Council, week: dt.date, mailbox, django_capture_on_commit_callbacks, deliveries: list[int]
) -> None:
    user = council.users["provider_a"]
    generate(council.provider_a)
    with django_capture_on_commit_callbacks(execute=True):
        confirm(council.provider_a, user)
        assert mailbox() == [] and deliveries == []  # nothing leaves before the commit

    [receipt] = mailbox()
    assert sorted(receipt["To"].split(", ")) == sorted([user.email, council.provider_a.email])
    assert receipt["Subject"] == "Week of 2 Nov 2026 confirmed: £245.70"
    body = email_body(receipt)
    assert "Total to be paid: £245.70" in body and "Lines sent to the council: 1" in body
    assert "!!MISSING" not in body
    assert deliveries == [message.pk for message in submissions()]


def test_a_late_receipt_says_so(
    council: Council, week: dt.date, mailbox, django_capture_on_commit_callbacks, deliveries
) -> None:
    generate(council.provider_a)
    wednesday = dt.datetime(2026, 11, 11, 9, 0, tzinfo=LONDON)
    with time_machine.travel(wednesday, tick=False), django_capture_on_commit_callbacks(execute=True):
        confirm(council.provider_a, council.users["provider_a"])
    [receipt] = mailbox()
    assert receipt["Subject"].endswith("(late)")
    assert "confirmed after its deadline" in email_body(receipt)


def test_an_untouched_line_is_confirmed_on_the_plan_as_it_is_now(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    cpl = council.line_a
    cpl.planned_per_week, cpl.version = D("14.00"), 2
    cpl.save()
    confirm(council.provider_a, council.users["provider_a"])
    line = actual_of(cpl)
    assert (line.planned, line.delivered, line.amount, line.care_package_line_version) == (
        D("14"), D("14"), D("327.60"), 2,
    )  # fmt: skip
    [message] = submissions()
    assert message.body["lines"][0]["amount"] == "327.60"


# The nil return -----------------------------------------------------------------------------------


def test_a_nil_return_sets_every_line_to_nothing_and_confirms(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    day_care = CarePackageLineFactory(
        provider=council.provider_a,
        service_type=service_type(DAY_CARE),
        planned_per_week=D("3"),
        rate=D("55.00"),
    )
    generate(council.provider_a)
    amend(actual_of(council.line_a), user, delivered="9.10")  # a blocking exception a nil return replaces

    result = week_nil_return(provider=council.provider_a, week_start=WEEK, by=user, declaration=True)

    provider_week = ProviderWeek.objects.get()
    assert (provider_week.state, provider_week.nil_return, provider_week.confirmed_by) == (
        ProviderWeek.State.CONFIRMED, True, user,
    )  # fmt: skip
    home, day = actual_of(council.line_a), actual_of(day_care)
    for line in (home, day):
        assert (line.delivered, line.frustrated, line.missed, line.extra) == (0, 0, 0, 0)
        assert (line.comment, line.no_service, line.status) == (NIL_RETURN_COMMENT, True, Status.SENT)
        assert not line.exceptions.exists()
    assert home.amount == D("0.00")
    assert day.amount == D("165.00")  # paid on plan: the contract pays the plan
    assert (result.sent, result.held, result.total) == (2, 0, D("165.00"))
    assert sorted(sent_versions()) == sorted([(home.pk, 1), (day.pk, 1)])
    assert AuditEvent.objects.get(action="actuals.week.confirmed").data["nil_return"] is True
    amended = {e.object_id: e for e in AuditEvent.objects.filter(action="actuals.line.amended", actor=user)}
    assert set(amended) == {str(home.pk), str(day.pk)}  # each line's own history says what the return did
    assert amended[str(day.pk)].data["before"]["delivered"] == "3.00"
    assert amended[str(day.pk)].data["after"]["comment"] == NIL_RETURN_COMMENT


def test_a_nil_return_generates_the_week_first(council: Council, week: dt.date) -> None:
    week_nil_return(
        provider=council.provider_a, week_start=WEEK, by=council.users["provider_a"], declaration=True
    )
    line = actual_of(council.line_a)
    assert (line.delivered, line.status) == (0, Status.SENT)


def test_a_death_in_a_nil_return_week_is_acknowledged_for_review(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    cpl = CarePackageLineFactory(
        provider=council.provider_a, service_user=ServiceUserFactory(deceased_on=WEEK + dt.timedelta(days=1))
    )
    week_nil_return(provider=council.provider_a, week_start=WEEK, by=user, declaration=True)
    line = actual_of(cpl)
    assert line.status == Status.HELD
    exception = line.exceptions.get()
    assert (exception.rule, exception.reason, exception.acknowledged_by) == (
        "ACT-14",
        NIL_RETURN_COMMENT,
        user,
    )


@pytest.mark.parametrize(("confirmed", "declaration", "message"), [
    (False, False, "Confirm that no service was delivered this week"),
    (True, True, "already been confirmed"),
])  # fmt: skip
def test_a_nil_return_is_refused_without_the_declaration_or_on_a_confirmed_week(
    council: Council, week: dt.date, confirmed: bool, declaration: bool, message: str
) -> None:
    user = council.users["provider_a"]
    if confirmed:
        generate(council.provider_a)
        confirm(council.provider_a, user)
    with pytest.raises(ActualsError, match=message):
        week_nil_return(provider=council.provider_a, week_start=WEEK, by=user, declaration=declaration)
    assert actual_of(council.line_a).delivered == D("10.50") if confirmed else not ActualLine.objects.exists()


# The provider's correction ------------------------------------------------------------------------


def correct(
    line: ActualLine, by: User, reason: str = "Visit on Friday was cancelled", **changes: Any
) -> ActualLine:
    values = dataclasses.replace(
        LineValues.of(line),
        **{k: D(v) if k in {"delivered", "frustrated", "missed", "extra"} else v for k, v in changes.items()},
    )
    return actual_line_correct(
        provider=line.provider, line_id=line.pk, by=by, values=values, reason=reason, revision=line.revision
    )


@pytest.fixture
def confirmed_line(council: Council, week: dt.date) -> ActualLine:
    generate(council.provider_a)
    confirm(council.provider_a, council.users["provider_a"])
    return actual_of(council.line_a)


def test_a_correction_sends_a_new_version(council: Council, confirmed_line: ActualLine) -> None:
    user = council.users["provider_a"]
    corrected = correct(confirmed_line, user, delivered="9", comment="Friday cancelled")

    line = actual_of(council.line_a)
    assert (line.version, line.status, line.amount) == (2, Status.SENT, D("210.60"))
    assert (line.correction_reason, line.amended_by) == ("Visit on Friday was cancelled", user)
    assert corrected.version == 2
    assert sent_versions() == [(line.pk, 1), (line.pk, 2)]
    assert submissions()[-1].body["lines"][0]["delivered"] == "9"
    assert ProviderWeek.objects.get().state == ProviderWeek.State.CORRECTED
    event = AuditEvent.objects.get(action="actuals.line.corrected")
    assert event.data["version"] == 2 and event.data["reason"] == "Visit on Friday was cancelled"


def test_a_correction_breaking_an_acknowledge_rule_is_held_with_its_reason(
    council: Council, confirmed_line: ActualLine
) -> None:
    user = council.users["provider_a"]
    correct(
        confirmed_line, user, "Admitted to hospital", delivered="4.50", frustrated="6", comment="In hospital"
    )
    line = actual_of(council.line_a)
    assert (line.version, line.status) == (2, Status.HELD)
    exception = line.exceptions.get()
    assert (exception.rule, exception.reason, exception.is_acknowledged) == (
        "ACT-13",
        "Admitted to hospital",
        True,
    )
    assert sent_versions() == [(line.pk, 1)]


def test_a_correction_breaking_a_blocking_rule_is_refused(
    council: Council, confirmed_line: ActualLine
) -> None:
    with pytest.raises(ActualsError, match=r"Delivered must be in steps of 0\.25 hours"):
        correct(confirmed_line, council.users["provider_a"], delivered="9.10", comment="Short")
    line = actual_of(council.line_a)
    assert (line.version, line.delivered, line.correction_reason) == (1, D("10.50"), "")
    assert not line.exceptions.exists()


def test_a_line_is_corrected_once(council: Council, confirmed_line: ActualLine) -> None:
    user = council.users["provider_a"]
    once = correct(confirmed_line, user, delivered="9", comment="Friday cancelled")
    with pytest.raises(ActualsError, match="already been corrected once"):
        correct(once, user, "Changed my mind", delivered="8", comment="Two cancelled")
    assert actual_of(council.line_a).version == 2 and len(sent_versions()) == 2


def test_a_paid_line_is_put_right_only_by_a_dispute(council: Council, confirmed_line: ActualLine) -> None:
    for status in ("accepted", "paid"):
        assert actual_line_decision_apply(
            portal_line_id=str(confirmed_line.pk), version=1, status=status, reason=""
        )
    paid = actual_of(council.line_a)
    with pytest.raises(ActualsError, match="has been paid"):
        correct(paid, council.users["provider_a"], delivered="9", comment="Friday cancelled")
    assert actual_of(council.line_a).version == 1


def test_a_disputed_line_is_answered_in_its_dispute(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    acknowledge_all(frustrated_most_of_the_week(council), user)
    confirm(council.provider_a, user)
    lines_dispute(
        user=council.users["finance"], versions={actual_of(council.line_a).pk: 1}, reason="Evidence?"
    )
    with pytest.raises(ActualsError, match="in dispute"):
        correct(actual_of(council.line_a), user, delivered="5", comment="x")


@pytest.mark.parametrize(
    ("reason", "changes", "message"),
    [
        ("  ", {"delivered": "9"}, "Enter the reason for the correction"),
        ("Because", {}, "The correction changes nothing"),
    ],
)
def test_a_correction_needs_a_reason_and_a_change(
    council: Council, confirmed_line: ActualLine, reason: str, changes: dict, message: str
) -> None:
    with pytest.raises(ActualsError, match=message):
        correct(confirmed_line, council.users["provider_a"], reason, **changes)
    assert actual_of(council.line_a).version == 1


def test_a_draft_line_is_amended_not_corrected(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    with pytest.raises(ActualsError, match="has not been confirmed yet"):
        correct(actual_of(council.line_a), council.users["provider_a"], delivered="9", comment="x")


def test_a_correction_from_an_old_revision_is_stale(council: Council, confirmed_line: ActualLine) -> None:
    values = dataclasses.replace(LineValues.of(confirmed_line), delivered=D("9"), comment="x")
    with pytest.raises(StaleEdit):
        actual_line_correct(
            provider=council.provider_a, line_id=confirmed_line.pk, by=council.users["provider_a"],
            values=values, reason="r", revision=confirmed_line.revision - 1,
        )  # fmt: skip
    assert actual_of(council.line_a).version == 1


def test_another_providers_line_cannot_be_corrected(council: Council, confirmed_line: ActualLine) -> None:
    values = dataclasses.replace(LineValues.of(confirmed_line), delivered=D("9"), comment="x")
    with pytest.raises(ActualLine.DoesNotExist):
        actual_line_correct(
            provider=council.provider_b, line_id=confirmed_line.pk, by=council.users["provider_b"],
            values=values, reason="r", revision=confirmed_line.revision,
        )  # fmt: skip


def test_an_exception_that_arrives_after_generation_is_shown_when_it_blocks(
    council: Council, week: dt.date
) -> None:
    """A death reported by the back office after the week was generated: the refused confirmation leaves
    the exception on the line, so the provider can see it and give the reason."""
    user = council.users["provider_a"]
    generate(council.provider_a)
    person = council.line_a.service_user
    person.deceased_on = WEEK + dt.timedelta(days=4)
    person.save()

    with pytest.raises(ActualsError, match="1 exception needs a reason"):
        confirm(council.provider_a, user)

    line = actual_of(council.line_a)
    assert exception_rules(line) == {"ACT-14"}
    assert line.status == Status.DRAFT and not OutboxMessage.objects.exists()
    acknowledge_all(line, user)
    assert confirm(council.provider_a, user).held == 1


def test_a_changed_plan_that_blocks_is_kept_with_its_exceptions(council: Council, week: dt.date) -> None:
    """The line ended before the week after it was generated and amended: the confirmation is refused
    with the line brought up to the plan and its exception stored, as the page then shows them."""
    user = council.users["provider_a"]
    generate(council.provider_a)
    amend(actual_of(council.line_a), user, delivered="9", comment="Friday cancelled")
    cpl = council.line_a
    cpl.end_date, cpl.status, cpl.version = WEEK - dt.timedelta(days=1), "ended", 2
    cpl.save()

    with pytest.raises(ActualsError, match="2 exceptions must be fixed"):
        confirm(council.provider_a, user)

    line = actual_of(cpl)
    assert (line.planned, line.delivered, line.care_package_line_version) == (D("0"), D("9"), 2)
    assert exception_rules(line) == {"ACT-05", "ACT-09"}  # ended before the week; 9 h over a plan of 0
    assert ProviderWeek.objects.get().state == ProviderWeek.State.IN_PROGRESS


# Locks ------------------------------------------------------------------------------------------


def _lock_clauses(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"][q["sql"].rindex(" FOR UPDATE") :]
        for q in queries.captured_queries
        if " FOR UPDATE" in q["sql"]
    ]


def test_acknowledging_and_confirming_lock_only_their_own_rows(council: Council, week: dt.date) -> None:
    """The models' orderings join the provider (weeks) and the care package line and person (lines,
    exceptions): a plain FOR UPDATE locked those rows too, and under the load test a confirmation and the
    worker applying the back office's decisions deadlocked on them at commit (docs/benchmarks.md)."""
    user = council.users["provider_a"]
    line = frustrated_most_of_the_week(council)
    with CaptureQueriesContext(connection) as queries:
        exception_acknowledge(
            provider=council.provider_a, line_id=line.pk, rule="ACT-13", by=user, reason="Ill"
        )
        assert confirm(council.provider_a, user).held == 1

    clauses = _lock_clauses(queries)
    assert len(clauses) >= 3, clauses  # the line, its exception, the week and its lines
    assert all(c.startswith(" FOR UPDATE OF") and "providers_" not in c for c in clauses), clauses


def test_applying_a_decision_locks_only_the_line(council: Council, confirmed_line: ActualLine) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert actual_line_decision_apply(
            portal_line_id=str(confirmed_line.pk), version=1, status="accepted", reason=""
        )

    clauses = _lock_clauses(queries)  # the line, then the version decided on (a table of its own)
    assert clauses == [' FOR UPDATE OF "actuals_actualline"', " FOR UPDATE"], clauses
    assert "actuals_sentversion" in next(q["sql"] for q in queries if q["sql"].endswith(" FOR UPDATE"))
