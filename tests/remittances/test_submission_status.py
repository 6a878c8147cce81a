"""The back office's word on invoices and expense claims: applied from its submission events (by portal
reference) through `submission_status_apply`, moved only as the transition table allows, audited; a
repeat or anything after "paid" changes nothing; a refusal of the outbox message rejects the item."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from contrOCC_sync.client import BackOfficeRefused
from contrOCC_sync.inbound import APPLIED, UNCHANGED, apply_submission_event
from contrOCC_sync.models import OutboxMessage
from contrOCC_sync.outbox import outbox_message_deliver
from portal.audit.models import AuditEvent
from remittances.models_invoices import ExpenseClaim, Invoice, SubmissionStatus
from remittances.services_invoices import (
    STATUS_TRANSITIONS,
    expense_claim_submit,
    invoice_draft_line_add,
    invoice_draft_number_set,
    invoice_draft_period_set,
    invoice_draft_start,
    invoice_submit,
    submission_status_apply,
)
from tests.remittances.conftest import Children

pytestmark = pytest.mark.django_db
D = Decimal
Status = SubmissionStatus


def send_invoice(kids: Children, number: str = "BW-2026-03") -> Invoice:
    by, provider = kids.agency_user, kids.agency
    draft = invoice_draft_start(provider=provider, by=by, line_ref=kids.placement.ref)
    invoice_draft_period_set(
        provider=provider, by=by, draft_id=draft.pk, start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31)
    )
    invoice_draft_number_set(provider=provider, by=by, draft_id=draft.pk, number=number)
    invoice_draft_line_add(provider=provider, by=by, draft_id=draft.pk, description="March", quantity="4")
    return invoice_submit(provider=provider, by=by, draft_id=draft.pk)


def event(
    item: Invoice | ExpenseClaim, status: str, reason: str = "", kind: str = "invoice"
) -> dict[str, Any]:
    return {
        "at": "2026-04-15T10:05:00+01:00",
        "kind": kind,
        "ref": "INV0000042" if kind == "invoice" else "EXP0000007",
        "portal_ref": item.portal_ref,
        "portal_line_id": None,
        "version": None,
        "status": status,
        "reason": reason or None,
    }


def test_the_transition_table_ends_at_paid() -> None:
    assert STATUS_TRANSITIONS[Status.PAID] == frozenset()
    assert set(STATUS_TRANSITIONS) == set(Status.values)


def test_an_invoice_is_accepted_then_paid_from_its_events_and_each_change_audited(kids: Children) -> None:
    invoice = send_invoice(kids)
    assert apply_submission_event(event(invoice, "accepted")) == APPLIED
    invoice.refresh_from_db()
    assert (invoice.status, invoice.backoffice_ref, invoice.reason) == (Status.ACCEPTED, "INV0000042", "")
    assert invoice.status_changed_at is not None

    assert apply_submission_event(event(invoice, "accepted")) == UNCHANGED  # the same event again
    assert submission_status_apply(kind="invoice", portal_ref=invoice.portal_ref, status="accepted") is False
    assert apply_submission_event(event(invoice, "paid")) == APPLIED
    invoice.refresh_from_db()
    assert invoice.status == Status.PAID
    # Paid is final: a later word (even a rejection) changes nothing.
    assert (
        submission_status_apply(kind="invoice", portal_ref=invoice.portal_ref, status="rejected", reason="x")
        is False
    )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.reason) == (Status.PAID, "")
    actions = list(
        AuditEvent.objects.filter(object_id=str(invoice.pk), action__startswith="remittances.invoice.")
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "remittances.invoice.submitted",
        "remittances.invoice.accepted",
        "remittances.invoice.paid",
    ]


def test_a_rejection_keeps_its_reason_and_the_provider_sees_it(kids: Children) -> None:
    from django.urls import reverse

    invoice = send_invoice(kids)
    reason = "Line 1: the rate is 964.78, not 900.00."
    assert apply_submission_event(event(invoice, "rejected", reason)) == APPLIED
    invoice.refresh_from_db()
    assert (invoice.status, invoice.reason) == (Status.REJECTED, reason)
    page = kids.client("agency_user").get(reverse("invoice", kwargs={"pk": invoice.pk}))
    assert "Rejected" in page.content.decode() and reason in page.content.decode()
    # A rejected invoice's days are free again: the same period can be invoiced once more.
    again = send_invoice(kids, number="BW-2026-03R")
    assert again.status == Status.SENT


def test_a_word_on_something_the_portal_never_sent_or_in_a_status_it_does_not_know_changes_nothing(
    kids: Children,
) -> None:
    invoice = send_invoice(kids)
    assert submission_status_apply(kind="invoice", portal_ref="INV-NOT-OURS", status="accepted") is False
    assert (
        submission_status_apply(kind="invoice", portal_ref=invoice.portal_ref, status="superseded") is False
    )
    assert submission_status_apply(kind="invoice", portal_ref=invoice.portal_ref, status="sent") is False
    assert (
        submission_status_apply(kind="adjustment", portal_ref=invoice.portal_ref, status="accepted") is False
    )
    # An expense claim's event names an expense claim: an invoice with that reference is not it.
    assert (
        submission_status_apply(kind="expense_claim", portal_ref=invoice.portal_ref, status="accepted")
        is False
    )
    invoice.refresh_from_db()
    assert invoice.status == Status.SENT


def test_received_never_undoes_a_decision(kids: Children) -> None:
    invoice = send_invoice(kids)
    submission_status_apply(kind="invoice", portal_ref=invoice.portal_ref, status="accepted")
    assert submission_status_apply(kind="invoice", portal_ref=invoice.portal_ref, status="received") is False
    invoice.refresh_from_db()
    assert invoice.status == Status.ACCEPTED


def test_an_expense_claims_events_apply_to_it(kids: Children) -> None:
    claim = expense_claim_submit(
        provider=kids.carer,
        by=kids.carer_user,
        category="mileage",
        incurred_on=dt.date(2026, 4, 10),
        amount="18.45",
        description="School run, 41 miles",
    )
    assert (
        apply_submission_event(
            event(claim, "rejected", "Mileage claims are paid up to 250.00", kind="expense_claim")
        )
        == APPLIED
    )
    claim.refresh_from_db()
    assert (claim.status, claim.reason, claim.backoffice_ref) == (
        Status.REJECTED,
        "Mileage claims are paid up to 250.00",
        "EXP0000007",
    )
    assert AuditEvent.objects.filter(
        action="remittances.expense_claim.rejected", object_id=str(claim.pk)
    ).exists()


class Refusing:
    """A back office that refuses every write outright (a 422)."""

    def post(self, path: str, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        raise BackOfficeRefused(422, "unknown_provider", "The back office has no provider PRV00099.")

    def close(self) -> None:
        return None


def test_a_refused_message_rejects_its_invoice_or_claim_with_the_reason(kids: Children) -> None:
    invoice = send_invoice(kids)
    claim = expense_claim_submit(
        provider=kids.carer,
        by=kids.carer_user,
        category="mileage",
        incurred_on=dt.date(2026, 4, 10),
        amount="18.45",
        description="School run, 41 miles",
    )
    for message in OutboxMessage.objects.all():
        assert outbox_message_deliver(message_id=message.pk, client=Refusing()) == OutboxMessage.State.REFUSED  # type: ignore[arg-type]
    for item in (invoice, claim):
        item.refresh_from_db()
        assert item.status == Status.REJECTED
        assert (
            item.reason
            == "The council's finance system refused it: The back office has no provider PRV00099."
        )
