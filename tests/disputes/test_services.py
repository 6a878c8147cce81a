"""Disputes and queries: raised with their first message, answered in a thread (with attachments checked
from their content), resolved with the outcome DOMAIN.md's table says, reopened within the window and
closed after it; queries routed to their team; a reported death flags later lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from actuals.models import ActualLine
from actuals.services import LineValues
from contrOCC_sync.models import OutboxMessage
from disputes import selectors, services
from disputes.models import Attachment, PaymentAdjustment, Team, Thread
from portal.audit.models import AuditEvent
from tests.actuals.conftest import (
    MONDAY_AFTER,
    WEEK,
    acknowledge_all,
    actual_of,
    amend,
    confirm,
    generate,
)
from tests.conftest import Council
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


@pytest.fixture
def held(council: Council, week: dt.date) -> ActualLine:
    user = council.users["provider_a"]
    generate(council.provider_a)
    line = amend(actual_of(council.line_a), user, delivered="4.50", frustrated="6", comment="In hospital")
    acknowledge_all(line, user)
    confirm(council.provider_a, user)
    line = actual_of(council.line_a)
    assert line.status == Status.HELD
    return line


@pytest.fixture
def dispute(council: Council, held: ActualLine) -> Thread:
    [thread] = services.dispute_raise_on_held_lines(
        user=council.users["finance"],
        versions={held.pk: held.version},
        reason="We need the hospital's letter",
    )
    return thread


def outbox_kinds() -> list[str]:
    return list(OutboxMessage.objects.order_by("pk").values_list("kind", flat=True))


def test_a_dispute_on_held_lines_is_a_thread_with_the_provider(council: Council, dispute: Thread) -> None:
    line = actual_of(council.line_a)
    assert line.status == Status.DISPUTED
    assert (dispute.kind, dispute.team.code, dispute.state) == ("dispute", "payments", "awaiting_provider")
    assert list(dispute.lines.all()) == [line] and dispute.week == line.week
    assert dispute.due_on == MONDAY_AFTER.date() + dt.timedelta(days=services.DUE_DAYS["dispute"])
    assert [m.body for m in dispute.messages.all()] == ["We need the hospital's letter"]
    assert AuditEvent.objects.filter(action="disputes.dispute.raised", object_id=str(dispute.pk)).exists()
    assert dispute.subject.startswith("1 line of the week of 2 nov 2026: Alice Ashworth")


def test_the_provider_answers_with_an_attachment(
    council: Council, dispute: Thread, settings, tmp_path
) -> None:
    settings.VAR_DIR = tmp_path
    user = council.users["provider_a"]
    message = services.message_send(
        thread=dispute,
        by=user,
        body="Letter attached",
        provider=council.provider_a,
        uploads=[services.Upload(name="../../etc/hospital letter<script>.PDF", data=PDF)],
    )
    dispute.refresh_from_db()
    assert dispute.state == Thread.State.AWAITING_COUNCIL
    [attachment] = message.attachments.all()
    assert (attachment.name, attachment.content_type, attachment.size) == (
        "hospital letter_script.pdf",
        "application/pdf",
        len(PDF),
    )
    stored = tmp_path / "files" / "attachments" / attachment.stored_as
    assert stored.read_bytes() == PDF


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("invoice.pdf", EXE, "is not a PDF, an image"),
        ("notes.xlsm", b"PK\x03\x04" + b"\x00" * 40, "is not a PDF, an image"),
        ("big.pdf", PDF + b"0" * services.ATTACHMENT_MAX_BYTES, "is too big"),
    ],
)
def test_a_bad_attachment_is_refused_and_nothing_written(
    council: Council, dispute: Thread, name: str, data: bytes, message: str, settings, tmp_path
) -> None:
    settings.VAR_DIR = tmp_path
    with pytest.raises(services.DisputeError, match=message):
        services.message_send(
            thread=dispute,
            by=council.users["provider_a"],
            body="See attached",
            provider=council.provider_a,
            uploads=[services.Upload(name=name, data=data)],
        )
    assert dispute.messages.count() == 1 and not Attachment.objects.exists()
    assert not (tmp_path / "files").exists()


def test_another_provider_cannot_reply(council: Council, dispute: Thread) -> None:
    with pytest.raises(Thread.DoesNotExist):
        services.message_send(
            thread=dispute, by=council.users["provider_b"], body="Mine?", provider=council.provider_b
        )


def test_withdrawn_sends_the_lines_as_confirmed(council: Council, dispute: Thread) -> None:
    services.dispute_resolve(
        thread=dispute, by=council.users["finance"], outcome="withdrawn", reason="Letter seen"
    )
    line = actual_of(council.line_a)
    assert (line.status, line.version) == (Status.SENT, 1)
    message = OutboxMessage.objects.get(kind="actuals_submission")
    assert message.body["lines"][0]["frustrated"] == "6.00"
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome) == ("resolved", "withdrawn")


def test_upheld_before_any_version_was_sent_pays_nothing(council: Council, dispute: Thread) -> None:
    services.dispute_resolve(
        thread=dispute, by=council.users["finance"], outcome="upheld", reason="No record of admission"
    )
    line = actual_of(council.line_a)
    assert line.status == Status.NOT_PAYABLE
    assert outbox_kinds() == []
    event = AuditEvent.objects.get(action="disputes.dispute.resolved")
    assert event.data["not_payable"] == [line.pk]


def provider_answers(council: Council, thread: Thread, body: str = "Letter attached") -> None:
    services.message_send(
        thread=thread, by=council.users["provider_a"], body=body, provider=council.provider_a
    )


def test_adjusted_sends_a_new_version_with_the_agreed_quantities(council: Council, dispute: Thread) -> None:
    with pytest.raises(services.DisputeError, match="The provider has not answered yet"):
        services.dispute_resolve(
            thread=dispute, by=council.users["finance"], outcome="adjusted", reason="x", quantities={}
        )
    provider_answers(council, dispute)
    line = actual_of(council.line_a)
    agreed = LineValues(D("4.50"), D("3"), D("3"), D("0"), "", "Agreed: three hours frustrated")
    services.dispute_resolve(
        thread=dispute,
        by=council.users["finance"],
        outcome="adjusted",
        reason="Agreed in the thread",
        quantities={line.pk: agreed},
    )
    line = actual_of(council.line_a)
    assert (line.status, line.version, line.frustrated, line.missed) == (Status.SENT, 2, D("3"), D("3"))
    [sent] = line.sent_versions.all()
    assert sent.version == 2 and sent.amount == line.amount == (D("7.50") * line.rate).quantize(D("0.01"))


def test_adjusted_quantities_that_break_a_blocking_rule_change_nothing(
    council: Council, dispute: Thread
) -> None:
    provider_answers(council, dispute)
    line = actual_of(council.line_a)
    off_step = LineValues(D("4.10"), D("6"), D("0"), D("0"), "", "x")
    with pytest.raises(services.actuals_services.ActualsError, match="Alice Ashworth"):
        services.dispute_resolve(
            thread=dispute,
            by=council.users["finance"],
            outcome="adjusted",
            reason="x",
            quantities={line.pk: off_step},
        )
    assert actual_of(council.line_a).status == Status.DISPUTED
    dispute.refresh_from_db()
    assert dispute.state == Thread.State.AWAITING_COUNCIL


def test_a_resolved_dispute_takes_no_reply_and_cannot_be_resolved_twice(
    council: Council, dispute: Thread
) -> None:
    finance = council.users["finance"]
    services.dispute_resolve(thread=dispute, by=finance, outcome="withdrawn", reason="Fine")
    with pytest.raises(services.DisputeError, match="resolved: reopen it to reply"):
        services.message_send(
            thread=dispute, by=council.users["provider_a"], body="Thanks", provider=council.provider_a
        )
    with pytest.raises(services.DisputeError, match="cannot be changed that way"):
        services.dispute_resolve(thread=dispute, by=finance, outcome="upheld", reason="Again")
    assert OutboxMessage.objects.count() == 1


def test_reopening_is_allowed_for_a_set_time_then_it_closes(
    council: Council, dispute: Thread, settings
) -> None:
    services.dispute_resolve(thread=dispute, by=council.users["finance"], outcome="withdrawn", reason="Fine")
    later = MONDAY_AFTER + dt.timedelta(days=settings.DISPUTE_REOPEN_DAYS - 1)
    with time_machine.travel(later, tick=False):
        services.thread_reopen(
            thread=dispute, by=council.users["provider_a"], provider=council.provider_a, reason="Short paid"
        )
    dispute.refresh_from_db()
    assert (dispute.state, dispute.outcome, dispute.resolved_at) == ("awaiting_council", "", None)

    services.dispute_resolve(
        thread=dispute, by=council.users["finance"], outcome="withdrawn", reason="Still fine"
    )
    too_late = MONDAY_AFTER + dt.timedelta(days=settings.DISPUTE_REOPEN_DAYS + 1)
    with time_machine.travel(too_late, tick=False):
        with pytest.raises(services.DisputeError, match="can be reopened for"):
            services.thread_reopen(
                thread=dispute, by=council.users["provider_a"], provider=council.provider_a, reason="x"
            )
        assert services.threads_close_resolved() == 1
    dispute.refresh_from_db()
    assert dispute.state == Thread.State.CLOSED
    with pytest.raises(services.DisputeError, match="closed: start a new query"):
        services.message_send(
            thread=dispute, by=council.users["provider_a"], body="Hello", provider=council.provider_a
        )


def test_a_payment_dispute_upheld_sends_a_payment_adjustment(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    generate(council.provider_a)
    confirm(council.provider_a, user)
    ActualLine.objects.filter(provider=council.provider_a).update(status=Status.PAID)
    paid = actual_of(council.line_a)
    thread = services.dispute_raise_on_payment(
        provider=council.provider_a, by=user, body="Short by two hours", claimed_amount=D("46.80"), line=paid
    )
    assert (thread.kind, thread.team.code, thread.state) == ("dispute", "payments", "awaiting_council")
    services.dispute_resolve(thread=thread, by=council.users["finance"], outcome="upheld", reason="Agreed")
    adjustment = PaymentAdjustment.objects.get()
    assert (adjustment.amount, adjustment.applies_to) == (D("46.80"), str(paid.pk))
    message = OutboxMessage.objects.get(kind="adjustment")
    assert message.body == {
        "portal_ref": adjustment.portal_ref,
        "provider_ref": council.provider_a.ref,
        "amount": "46.80",
        "reason": "Agreed",
        "dispute_ref": thread.ref,
        "applies_to": str(paid.pk),
    }
    assert services.adjustment_status_apply(portal_ref=adjustment.portal_ref, status="paid", reason="")
    adjustment.refresh_from_db()
    assert adjustment.status == "paid"


def test_only_a_paid_line_is_disputed_by_the_provider(council: Council, held: ActualLine) -> None:
    with pytest.raises(services.DisputeError, match="Only a paid line"):
        services.dispute_raise_on_payment(
            provider=council.provider_a,
            by=council.users["provider_a"],
            body="x",
            claimed_amount=D("1"),
            line=held,
        )


@pytest.mark.parametrize(
    ("query_type", "kind", "team"),
    [
        ("service_line_incorrect", "adult", "brokerage"),
        ("rate_uplift", "adult", "brokerage"),
        ("payment_query", "adult", "payments"),
        ("payment_query", "foster_carer", "childrens_finance"),
        ("suspended_payment", "children", "childrens_finance"),
        ("invoice_query", "children", "childrens_finance"),
        ("password", "adult", "portal_support"),
    ],
)
def test_each_query_type_goes_to_its_team(council: Council, query_type: str, kind: str, team: str) -> None:
    provider = council.provider_a
    provider.kind = kind
    provider.save()
    thread = services.query_raise(
        provider=provider,
        by=council.users["provider_a"],
        query_type=query_type,
        subject="Help",
        body="Please",
    )
    assert thread.team == Team.objects.get(code=team)
    assert thread.due_on - thread.raised_at.date() == dt.timedelta(days=services.DUE_DAYS[query_type])


def test_a_reported_death_flags_the_persons_later_lines(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    person = council.line_a.service_user
    thread = services.query_raise_service_ended(
        provider=council.provider_a,
        by=council.users["provider_a"],
        person=person,
        report=services.EndReport(died=True, on=WEEK + dt.timedelta(days=2)),
        body="She died on Wednesday",
    )
    assert (thread.team.code, thread.died_on) == ("brokerage", WEEK + dt.timedelta(days=2))
    person.refresh_from_db()
    assert person.death_reported_on == WEEK + dt.timedelta(days=2) and person.deceased_on is None
    assert "ACT-16" in set(actual_of(council.line_a).exceptions.values_list("rule", flat=True))


def test_a_query_about_someone_elses_person_is_not_there(council: Council) -> None:
    with pytest.raises(Thread.DoesNotExist):
        services.query_raise(
            provider=council.provider_a,
            by=council.users["provider_a"],
            query_type="service_line_incorrect",
            subject="x",
            body="y",
            person=council.line_b.service_user,
        )


def test_unread_counts_and_read_receipts(council: Council, dispute: Thread) -> None:
    provider_user, finance = council.users["provider_a"], council.users["finance"]
    payments = Team.objects.get(code="payments")
    payments.members.add(finance)
    assert selectors.unread_count(user=provider_user, provider=council.provider_a) == 1
    assert selectors.unread_count(user=finance, provider=None) == 0  # they wrote it
    [row] = selectors.messages_with_receipts(dispute)
    assert row.read_by_other_side_at is None

    services.thread_read(thread=dispute, user=provider_user)
    assert selectors.unread_count(user=provider_user, provider=council.provider_a) == 0
    [row] = selectors.messages_with_receipts(dispute)
    assert row.read_by_other_side_at is not None
    with time_machine.travel(MONDAY_AFTER + dt.timedelta(minutes=5), tick=False):
        services.message_send(
            thread=dispute, by=provider_user, body="Letter on its way", provider=council.provider_a
        )
    assert selectors.unread_count(user=finance, provider=None) == 1
    assert selectors.unread_count(user=council.users["provider_b"], provider=council.provider_b) == 0


def test_the_unread_count_follows_the_teams_members(council: Council, dispute: Thread) -> None:
    """The counts are cached (portal.cached): joining or leaving a team changes a staff member's at once."""
    manager, finance = council.users["portal_admin"], council.users["finance"]
    with time_machine.travel(MONDAY_AFTER + dt.timedelta(minutes=5), tick=False):  # after finance raised it
        services.message_send(
            thread=dispute, by=council.users["provider_a"], body="Why?", provider=council.provider_a
        )
    assert selectors.unread_count(user=finance, provider=None) == 0  # not in the Payments team
    payments = Team.objects.get(code="payments")
    services.team_update(team=payments, by=manager, email=payments.email, members=[finance])
    assert selectors.unread_count(user=finance, provider=None) == 1
    services.team_update(team=payments, by=manager, email=payments.email, members=[])
    assert selectors.unread_count(user=finance, provider=None) == 0


def test_a_thread_is_assigned_only_to_a_member_of_its_team(council: Council, dispute: Thread) -> None:
    finance = council.users["finance"]
    with pytest.raises(services.DisputeError, match="is not in the Payments team"):
        services.thread_assign(thread=dispute, by=finance, assignee=finance)
    Team.objects.get(code="payments").members.add(finance)
    assert services.thread_assign(thread=dispute, by=finance, assignee=finance).assignee == finance


def test_the_other_side_is_emailed_a_link_not_the_message(
    council: Council, held: ActualLine, mailbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [dispute] = services.dispute_raise_on_held_lines(
            user=council.users["finance"],
            versions={held.pk: held.version},
            reason="We need the hospital's letter",
        )
    [email] = [m for m in mailbox() if dispute.ref in m["Subject"]]
    body = email.get_body(preferencelist=("plain",)).get_content()
    assert f"/messages/{dispute.pk}/" in body and "hospital's letter" not in body
    assert council.users["provider_a"].email in email["To"]


def test_a_council_thread_starts_waiting_for_the_provider(council: Council) -> None:
    provider = ProviderFactory(portal_enabled=True)
    thread = services.thread_start_by_council(
        user=council.users["finance"],
        provider=provider,
        team=Team.objects.get(code="payments"),
        subject="Your bank details",
        body="Please check",
    )
    assert (thread.kind, thread.state, thread.raised_by_council) == ("message", "awaiting_provider", True)
    with pytest.raises(services.DisputeError, match="Only council staff"):
        services.thread_start_by_council(
            user=council.users["provider_a"], provider=provider, team=thread.team, subject="x", body="y"
        )


def paid_line_dispute(council: Council, claimed: str = "46.80") -> tuple[ActualLine, Thread]:
    user = council.users["provider_a"]
    generate(council.provider_a)
    confirm(council.provider_a, user)
    ActualLine.objects.filter(provider=council.provider_a).update(status=Status.PAID)
    paid = actual_of(council.line_a)
    thread = services.dispute_raise_on_payment(
        provider=council.provider_a, by=user, body="Short", claimed_amount=D(claimed), line=paid
    )
    return paid, thread


def test_a_payment_is_disputed_once_at_a_time(council: Council, week: dt.date) -> None:
    paid, thread = paid_line_dispute(council)
    with pytest.raises(services.DisputeError, match=f"already disputed in {thread.ref}"):
        services.dispute_raise_on_payment(
            provider=council.provider_a,
            by=council.users["provider_a"],
            body="Again",
            claimed_amount=D("1"),
            line=paid,
        )


def test_a_reopened_payment_dispute_resolved_again_sends_only_the_difference(
    council: Council, week: dt.date
) -> None:
    _, thread = paid_line_dispute(council)
    finance, provider_user = council.users["finance"], council.users["provider_a"]
    services.dispute_resolve(thread=thread, by=finance, outcome="upheld", reason="Agreed")
    services.thread_reopen(
        thread=thread, by=provider_user, provider=council.provider_a, reason="Not paid yet"
    )
    services.dispute_resolve(thread=thread, by=finance, outcome="upheld", reason="Still agreed")
    assert [a.amount for a in PaymentAdjustment.objects.order_by("pk")] == [D("46.80")]  # nothing twice
    services.thread_reopen(thread=thread, by=provider_user, provider=council.provider_a, reason="Partly")
    services.dispute_resolve(thread=thread, by=finance, outcome="adjusted", reason="Half", amount=D("20.00"))
    assert [a.amount for a in PaymentAdjustment.objects.order_by("pk")] == [D("46.80"), D("-26.80")]
    assert OutboxMessage.objects.filter(kind="adjustment").count() == 2


def test_the_provider_withdraws_its_own_payment_dispute(council: Council, week: dt.date) -> None:
    _, thread = paid_line_dispute(council)
    services.dispute_withdraw_by_provider(
        thread=thread, by=council.users["provider_a"], provider=council.provider_a, reason="Found the payment"
    )
    thread.refresh_from_db()
    assert (thread.state, thread.outcome) == ("resolved", "withdrawn")
    assert not PaymentAdjustment.objects.exists()
    assert AuditEvent.objects.filter(action="disputes.dispute.withdrawn").exists()


def test_a_council_dispute_is_not_withdrawn_by_the_provider(council: Council, dispute: Thread) -> None:
    with pytest.raises(services.DisputeError, match="Only a dispute you raised"):
        services.dispute_withdraw_by_provider(
            thread=dispute, by=council.users["provider_a"], provider=council.provider_a, reason="No"
        )


def test_withdrawn_goes_at_the_rate_the_back_office_holds_now(council: Council, dispute: Thread) -> None:
    cpl = council.line_a
    cpl.rate, cpl.version = cpl.rate + D("1.00"), cpl.version + 1
    cpl.save()
    services.dispute_resolve(thread=dispute, by=council.users["finance"], outcome="withdrawn", reason="Fine")
    line = actual_of(cpl)
    assert line.rate == cpl.rate
    assert OutboxMessage.objects.get(kind="actuals_submission").body["lines"][0]["amount"] == str(line.amount)


def test_a_reported_death_flags_only_the_reporting_providers_lines(council: Council, week: dt.date) -> None:
    from tests.factories import CarePackageLineFactory

    person = council.line_a.service_user
    CarePackageLineFactory(provider=council.provider_b, service_user=person)
    generate(council.provider_a)
    generate(council.provider_b)
    services.query_raise_service_ended(
        provider=council.provider_a,
        by=council.users["provider_a"],
        person=person,
        report=services.EndReport(died=True, on=WEEK),
        body="Died",
    )
    theirs = ActualLine.objects.get(provider=council.provider_b, care_package_line__service_user=person)
    assert not theirs.exceptions.filter(rule="ACT-16").exists()
    assert actual_of(council.line_a).exceptions.filter(rule="ACT-16").exists()


def test_an_outcome_on_a_line_corrected_meanwhile_is_refused(council: Council, dispute: Thread) -> None:
    line = actual_of(council.line_a)
    with pytest.raises(services.DisputeError, match="corrected after you opened the page"):
        services.dispute_resolve(
            thread=dispute,
            by=council.users["finance"],
            outcome="withdrawn",
            reason="Fine",
            versions={line.pk: line.version - 1 if line.version > 1 else line.version + 1},
        )
    assert actual_of(council.line_a).status == Status.DISPUTED
