"""The council's own disputes beyond the review queue: on any confirmed line of a provider's week (held,
sent, accepted, paid), on the whole week and on an invoice; the versions the officer saw are checked; and
the outcomes (`dispute_resolve`) send what DOMAIN.md's table says for what the back office holds of each
line now: a new version while it is unpaid, a payment adjustment once it is paid; a dispute reopened and
resolved again sends only the difference."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from actuals.models import ActualLine, SentVersion
from actuals.services import LineValues
from contrOCC_sync.models import OutboxMessage
from disputes import services
from disputes.models import PaymentAdjustment, Thread
from disputes.services_council import (
    dispute_raise_on_invoice,
    dispute_raise_on_lines,
    dispute_raise_on_week,
    week_fingerprint,
)
from portal import clock
from portal.audit.models import AuditEvent
from remittances.models_invoices import Invoice, SubmissionStatus
from tests.actuals.conftest import (
    DAY_CARE,
    WEEK,
    actual_of,
    confirm,
    generate,
    service_type,
)
from tests.conftest import Council
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status


# `confirmed` (tests/disputes/conftest.py): provider A's week, Alice's line sent, Carol's held for review


def raise_on(
    council: Council, *lines: ActualLine, reason: str = "No visit records for these hours"
) -> Thread:
    return dispute_raise_on_lines(
        user=council.users["finance"],
        provider=council.provider_a,
        week_start=WEEK,
        versions={line.pk: line.version for line in lines},
        reason=reason,
    )


def resolve(council: Council, thread: Thread, outcome: str, **kwargs: Any) -> Thread:
    return services.dispute_resolve(
        thread=thread, by=council.users["finance"], outcome=outcome, reason="Decided", **kwargs
    )


def reopen(council: Council, thread: Thread) -> None:
    services.thread_reopen(thread=thread, by=council.users["finance"], provider=None, reason="Looked again")


def provider_answers(council: Council, thread: Thread) -> None:
    services.message_send(
        thread=thread, by=council.users["provider_a"], body="Records attached", provider=council.provider_a
    )


def submissions() -> list[dict[str, Any]]:
    """The lines sent to the back office since the week's confirmation, in order."""
    return [
        line
        for message in OutboxMessage.objects.filter(kind="actuals_submission").order_by("pk")[1:]
        for line in message.body["lines"]
    ]


def adjustments() -> list[tuple[Decimal, str]]:
    return [(a.amount, a.applies_to) for a in PaymentAdjustment.objects.order_by("pk")]


def paid(line: ActualLine) -> ActualLine:
    """The line paid by the back office at its current version (as the submission events would say)."""
    SentVersion.objects.filter(line=line, version=line.version).update(status="paid")
    ActualLine.objects.filter(pk=line.pk).update(status=Status.PAID)
    return actual_of(line.care_package_line)


# Raising -------------------------------------------------------------------------------------------


def test_a_sent_line_is_disputed_and_stays_with_the_back_office(council: Council, confirmed) -> None:
    line = confirmed["sent"]
    thread = raise_on(council, line)
    assert (thread.kind, thread.team.code, thread.state, thread.raised_by_council) == (
        "dispute",
        "payments",
        "awaiting_provider",
        True,
    )
    assert list(thread.lines.all()) == [line] and thread.week == line.week
    assert thread.subject == "1 line of the week of 2 nov 2026: Alice Ashworth"
    assert thread.lines_as_raised[str(line.pk)] == {
        "version": 1,
        "amount": str(line.amount),
        "values": LineValues.of(line).as_data(),
    }
    assert actual_of(council.line_a).status == Status.SENT  # the back office's, until the outcome
    assert [m.body for m in thread.messages.all()] == ["No visit records for these hours"]
    event = AuditEvent.objects.get(action="actuals.line.disputed", object_id=str(line.pk))
    assert event.data == {"reason": "No visit records for these hours", "version": 1, "status": "sent"}
    raised = AuditEvent.objects.get(action="disputes.dispute.raised", object_id=str(thread.pk))
    assert (raised.data["lines"], raised.data["whole_week"]) == ([line.pk], False)


def test_a_held_line_disputed_from_the_week_goes_back_to_the_provider(council: Council, confirmed) -> None:
    thread = raise_on(council, confirmed["sent"], confirmed["held"])
    assert actual_of(confirmed["held"].care_package_line).status == Status.DISPUTED
    assert actual_of(council.line_a).status == Status.SENT
    assert thread.subject == "2 lines of the week of 2 nov 2026: Alice Ashworth, Carol Cooper"
    assert AuditEvent.objects.filter(action="actuals.line.disputed").count() == 2


def test_a_line_corrected_since_the_page_was_shown_refuses_the_dispute(council: Council, confirmed) -> None:
    line = confirmed["sent"]
    stale = {line.pk: line.version, confirmed["held"].pk: confirmed["held"].version}
    ActualLine.objects.filter(pk=line.pk).update(version=2)  # the provider's correction, meanwhile
    with pytest.raises(services.DisputeError, match="1 of the lines chosen was corrected by the provider"):
        dispute_raise_on_lines(
            user=council.users["finance"], provider=council.provider_a, week_start=WEEK, versions=stale,
            reason="x",
        )  # fmt: skip
    assert not Thread.objects.exists()
    assert actual_of(confirmed["held"].care_package_line).status == Status.HELD  # nothing changed
    assert not AuditEvent.objects.filter(action__startswith="actuals.line.disputed").exists()


def test_another_providers_line_is_not_among_the_weeks(council: Council, confirmed) -> None:
    generate(council.provider_b)
    theirs = actual_of(council.line_b)
    with pytest.raises(services.DisputeError, match="not valid"):
        raise_on(council, confirmed["sent"], theirs)
    assert not Thread.objects.exists()


def test_only_confirmed_lines_of_a_confirmed_week_are_disputed(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    with pytest.raises(services.DisputeError, match="Only a confirmed week"):
        raise_on(council, actual_of(council.line_a))
    with pytest.raises(services.DisputeError, match="Only council staff"):
        dispute_raise_on_lines(
            user=council.users["provider_a"], provider=council.provider_a, week_start=WEEK,
            versions={1: 1}, reason="x",
        )  # fmt: skip


def test_a_line_is_in_one_dispute_at_a_time(council: Council, confirmed) -> None:
    first = raise_on(council, confirmed["sent"])
    with pytest.raises(services.DisputeError, match=f"already disputed in {first.ref}"):
        raise_on(council, confirmed["sent"], confirmed["held"])
    assert Thread.objects.count() == 1
    assert actual_of(confirmed["held"].care_package_line).status == Status.HELD
    resolve(council, first, "withdrawn")  # withdrawn: the line is free to be disputed again
    assert raise_on(council, actual_of(council.line_a)).pk != first.pk


def test_the_whole_week_is_disputed_at_the_versions_shown(council: Council, confirmed) -> None:
    lines = [confirmed["sent"], confirmed["held"]]
    shown = week_fingerprint(sorted((line.pk, line.version) for line in lines))
    ActualLine.objects.filter(pk=confirmed["sent"].pk).update(version=2)
    with pytest.raises(services.DisputeError, match="The week changed since you opened the page"):
        dispute_raise_on_week(
            user=council.users["finance"], provider=council.provider_a, week_start=WEEK, fingerprint=shown,
            reason="x",
        )  # fmt: skip
    assert not Thread.objects.exists()
    ActualLine.objects.filter(pk=confirmed["sent"].pk).update(version=1)
    thread = dispute_raise_on_week(
        user=council.users["finance"], provider=council.provider_a, week_start=WEEK, fingerprint=shown,
        reason="The provider was closed that week",
    )  # fmt: skip
    assert set(thread.lines.all()) == set(lines) and thread.week_id == lines[0].week_id
    assert thread.subject == "Week of 2 Nov 2026: the whole week (2 lines)"
    assert AuditEvent.objects.get(action="disputes.dispute.raised").data["whole_week"] is True


def test_a_line_settled_as_not_payable_is_not_part_of_the_whole_week(council: Council, confirmed) -> None:
    held = raise_on(council, confirmed["held"])
    resolve(council, held, "upheld")
    assert actual_of(confirmed["held"].care_package_line).status == Status.NOT_PAYABLE
    sent = confirmed["sent"]
    thread = dispute_raise_on_week(
        user=council.users["finance"], provider=council.provider_a, week_start=WEEK,
        fingerprint=week_fingerprint([(sent.pk, sent.version)]), reason="Closed",
    )  # fmt: skip
    assert list(thread.lines.all()) == [sent]


# Outcomes on lines with the back office ------------------------------------------------------------


def test_upheld_on_a_sent_line_sends_a_version_with_nothing_payable(council: Council, confirmed) -> None:
    thread = raise_on(council, confirmed["sent"])
    resolve(council, thread, "upheld")
    line = actual_of(council.line_a)
    assert (line.status, line.version, line.delivered, line.missed, line.amount) == (
        Status.SENT,
        2,
        D("0"),
        line.planned,
        D("0.00"),
    )
    assert [(s["portal_line_id"], s["version"], s["amount"]) for s in submissions()] == [(line.pk, 2, "0.00")]
    assert not PaymentAdjustment.objects.exists()


def test_withdrawn_on_a_sent_line_sends_nothing(council: Council, confirmed) -> None:
    thread = raise_on(council, confirmed["sent"])
    resolve(council, thread, "withdrawn")
    assert actual_of(council.line_a).version == 1 and submissions() == []
    event = AuditEvent.objects.get(action="disputes.dispute.resolved")
    assert event.data["unchanged"] == [confirmed["sent"].pk]


def test_adjusted_on_a_sent_line_sends_the_agreed_values_only_where_they_differ(
    council: Council, confirmed
) -> None:
    sent, held = confirmed["sent"], confirmed["held"]
    thread = raise_on(council, sent, held)
    provider_answers(council, thread)
    agreed = LineValues(D("8.50"), D("0"), D("2"), D("0"), "", "Two hours missed")
    resolve(council, thread, "adjusted", quantities={sent.pk: agreed, held.pk: LineValues.of(held)})
    line = actual_of(council.line_a)
    assert (line.version, line.delivered, line.missed, line.status) == (2, D("8.50"), D("2"), Status.SENT)
    carol = actual_of(held.care_package_line)
    assert (carol.version, carol.status) == (1, Status.SENT)  # as confirmed: released, not a new version
    assert sorted((s["portal_line_id"], s["version"]) for s in submissions()) == sorted(
        [(sent.pk, 2), (held.pk, 1)]
    )


def test_a_line_paid_meanwhile_is_put_right_by_a_payment_adjustment(council: Council, confirmed) -> None:
    thread = raise_on(council, confirmed["sent"])
    line = paid(actual_of(council.line_a))
    resolve(council, thread, "upheld")
    assert adjustments() == [(-line.amount, str(line.pk))]
    assert actual_of(council.line_a).status == Status.PAID and submissions() == []
    message = OutboxMessage.objects.get(kind="adjustment")
    assert message.body["dispute_ref"] == thread.ref and message.body["amount"] == str(-line.amount)

    reopen(council, thread)
    provider_answers(council, thread)
    agreed = LineValues(D("8.50"), D("0"), D("2"), D("0"), "", "Two hours missed")
    resolve(council, thread, "adjusted", quantities={line.pk: agreed})
    owed = (D("8.50") * line.rate).quantize(D("0.01"))
    assert adjustments() == [(-line.amount, str(line.pk)), (owed, str(line.pk))]  # only the difference

    reopen(council, thread)
    resolve(council, thread, "withdrawn")
    assert sum(a for a, _ in adjustments()) == 0  # as it was paid


def test_a_dispute_reopened_after_upheld_and_withdrawn_sends_the_line_as_it_was_raised(
    council: Council, confirmed
) -> None:
    thread = raise_on(council, confirmed["sent"])
    resolve(council, thread, "upheld")
    reopen(council, thread)
    resolve(council, thread, "withdrawn")
    line = actual_of(council.line_a)
    assert (line.version, line.delivered, line.missed) == (3, confirmed["sent"].delivered, D("0"))
    assert [(s["version"], s["amount"]) for s in submissions()] == [
        (2, "0.00"),
        (3, str(confirmed["sent"].amount)),
    ]


def test_withdrawn_after_the_nothing_payable_version_was_paid_pays_the_line_as_raised(
    council: Council, confirmed
) -> None:
    thread = raise_on(council, confirmed["sent"])
    resolve(council, thread, "upheld")
    paid(actual_of(council.line_a))  # version 2, nothing payable, paid: the back office recovered it
    reopen(council, thread)
    resolve(council, thread, "withdrawn")
    assert adjustments() == [(confirmed["sent"].amount, str(confirmed["sent"].pk))]


def test_upheld_on_a_sent_line_paid_on_its_plan_recovers_it_and_withdrawn_undoes_that(
    council: Council, week: dt.date
) -> None:
    user = council.users["provider_a"]
    day_care = CarePackageLineFactory(
        provider=council.provider_a,
        service_type=service_type(DAY_CARE),
        planned_per_week=D("3"),
        rate=D("40"),
    )
    generate(council.provider_a)
    confirm(council.provider_a, user)
    line = actual_of(day_care)
    assert line.status == Status.SENT
    thread = raise_on(council, line)
    resolve(council, thread, "upheld")
    assert actual_of(day_care).status == Status.NOT_PAYABLE
    assert adjustments() == [(D("-120.00"), str(line.pk))]  # the plan is paid whatever is recorded

    reopen(council, thread)
    resolve(council, thread, "withdrawn")
    again = actual_of(day_care)
    assert (again.status, again.version) == (Status.SENT, 2)  # sent again: its money goes by version
    assert adjustments() == [(D("-120.00"), str(line.pk)), (D("120.00"), str(line.pk))]


def test_a_line_the_provider_corrected_into_review_waits_for_the_review_queue(
    council: Council, confirmed
) -> None:
    thread = raise_on(council, confirmed["sent"])
    ActualLine.objects.filter(pk=confirmed["sent"].pk).update(status=Status.HELD, version=2)
    with pytest.raises(services.DisputeError, match="waits in the exception review queue"):
        resolve(council, thread, "upheld")
    thread.refresh_from_db()
    assert thread.is_open and not PaymentAdjustment.objects.exists()


def test_a_held_line_dispute_whose_line_was_paid_is_put_right_by_an_adjustment(
    council: Council, confirmed
) -> None:
    """A dispute of the review queue, withdrawn, the line then paid and the dispute reopened: upheld now
    recovers the money (it used to refuse, sending the officer to a payment dispute)."""
    held = confirmed["held"]
    [thread] = services.dispute_raise_on_held_lines(
        user=council.users["finance"], versions={held.pk: held.version}, reason="Letter?"
    )
    resolve(council, thread, "withdrawn")
    line = paid(actual_of(held.care_package_line))
    reopen(council, thread)
    resolve(council, thread, "upheld")
    assert adjustments() == [(-line.amount, str(line.pk))]


# Invoices -----------------------------------------------------------------------------------------


def test_an_invoice_dispute_is_a_thread_about_the_invoice_and_the_child(council: Council, invoice) -> None:
    thread = dispute_raise_on_invoice(
        user=council.users["finance"], invoice=invoice, reason="Not placed then"
    )
    assert (thread.kind, thread.team.code, thread.invoice_ref, thread.person) == (
        "dispute",
        "childrens_finance",
        invoice.portal_ref,
        invoice.service_user,
    )
    assert thread.subject == "Invoice A-17: Alice Ashworth, 1 Oct 2026 to 31 Oct 2026"
    assert services.is_about_invoice(thread) and not services.is_about_payment(thread)
    with pytest.raises(services.DisputeError, match=f"already disputed in {thread.ref}"):
        dispute_raise_on_invoice(user=council.users["finance"], invoice=invoice, reason="Again")


def test_a_rejected_invoice_is_not_disputed(council: Council, invoice) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(status=SubmissionStatus.REJECTED)
    with pytest.raises(services.DisputeError, match="rejected this invoice"):
        dispute_raise_on_invoice(user=council.users["finance"], invoice=invoice, reason="x")
    assert not Thread.objects.exists()


def test_an_invoice_dispute_is_settled_in_money_once_the_back_office_has_decided(
    council: Council, invoice
) -> None:
    thread = dispute_raise_on_invoice(user=council.users["finance"], invoice=invoice, reason="Ten days short")
    with pytest.raises(services.DisputeError, match="has not decided on invoice A-17 yet"):
        resolve(council, thread, "upheld")
    Invoice.objects.filter(pk=invoice.pk).update(status=SubmissionStatus.ACCEPTED)
    resolve(council, thread, "adjusted", amount=D("800.00"))
    assert adjustments() == [(D("-200.00"), invoice.portal_ref)]
    reopen(council, thread)
    resolve(council, thread, "upheld")
    assert adjustments() == [(D("-200.00"), invoice.portal_ref), (D("-800.00"), invoice.portal_ref)]
    reopen(council, thread)
    resolve(council, thread, "withdrawn")
    assert sum(a for a, _ in adjustments()) == 0


def test_an_invoice_rejected_after_an_outcome_gets_back_what_was_recovered(council: Council, invoice) -> None:
    Invoice.objects.filter(pk=invoice.pk).update(status=SubmissionStatus.PAID)
    thread = dispute_raise_on_invoice(user=council.users["finance"], invoice=invoice, reason="Duplicate")
    resolve(council, thread, "upheld")
    assert adjustments() == [(D("-1000.00"), invoice.portal_ref)]
    Invoice.objects.filter(pk=invoice.pk).update(status=SubmissionStatus.REJECTED)
    reopen(council, thread)
    resolve(council, thread, "upheld")  # a rejected invoice pays nothing: nothing to recover
    assert sum(a for a, _ in adjustments()) == 0


def test_an_invoice_outcome_applies_to_the_remittance_line_that_paid_it(council: Council, invoice) -> None:
    from remittances.models import Remittance, RemittanceLine

    Invoice.objects.filter(pk=invoice.pk).update(status=SubmissionStatus.PAID)
    remittance = Remittance.objects.create(
        ref="REM-1", provider=council.provider_a, payment_run_ref="RUN-1", paid_on=clock.today(),
        total=D("1000.00"), received_at=clock.now(),
    )  # fmt: skip
    RemittanceLine.objects.create(
        remittance=remittance, source_ref="SRC-INV", kind="invoice", portal_ref=invoice.portal_ref,
        quantity=D("1"), rate=D("1000.00"), amount=D("1000.00"),
    )  # fmt: skip
    thread = dispute_raise_on_invoice(user=council.users["finance"], invoice=invoice, reason="Duplicate")
    resolve(council, thread, "upheld")
    assert adjustments() == [(D("-1000.00"), "SRC-INV")]


def test_the_whole_week_with_a_line_in_dispute_already_is_refused(council: Council, confirmed) -> None:
    first = raise_on(council, confirmed["held"])
    lines = [confirmed["sent"], confirmed["held"]]
    shown = week_fingerprint(sorted((line.pk, line.version) for line in lines))
    with pytest.raises(services.DisputeError, match=f"already disputed in {first.ref}"):
        dispute_raise_on_week(
            user=council.users["finance"], provider=council.provider_a, week_start=WEEK, fingerprint=shown,
            reason="x",
        )  # fmt: skip
    assert Thread.objects.count() == 1 and actual_of(council.line_a).status == Status.SENT


def test_a_dispute_of_more_lines_than_a_form_can_carry_is_not_adjusted_on_the_page(
    council: Council, confirmed
) -> None:
    from disputes.forms import ADJUSTED_LINES_MAX, OutcomeForm

    thread = raise_on(council, confirmed["sent"])
    few = OutcomeForm(thread=thread, lines=[confirmed["sent"]])
    assert (
        "adjusted" in dict(few.fields["outcome"].choices)
        and f"delivered_{confirmed['sent'].pk}" in few.fields
    )
    many = OutcomeForm(thread=thread, lines=[confirmed["sent"]] * (ADJUSTED_LINES_MAX + 1))
    assert set(dict(many.fields["outcome"].choices)) == {"withdrawn", "upheld"}
    assert many.too_many_lines and not many.lines
