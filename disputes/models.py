"""Disputes and typed queries, each a thread of messages between a provider and one council team, tied to
the records it is about.

A **dispute** is a disagreement about actual lines (held for review, raised by a finance officer) or a
payment (a paid line or a remittance line, raised by the provider); it ends with an outcome (upheld,
withdrawn, adjusted) that says what goes to the back office (DOMAIN.md's table; `disputes.services`).
A **query** is a provider's typed question (service line incorrect, a death, a payment query, …), routed
to the team its type belongs to. Council staff can start a thread with a provider too (a **message**).
The states and their moves are one table, `disputes.services.TRANSITIONS`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.providers.models import Provider, ServiceUser

if TYPE_CHECKING:
    from portal.accounts.models import User


class Team(models.Model):
    """A council team (DOMAIN.md): each query type routes to one; its members pick threads up."""

    class Code(models.TextChoices):
        PAYMENTS = "payments", "Payments"
        BROKERAGE = "brokerage", "Brokerage"
        CHILDRENS_FINANCE = "childrens_finance", "Children's finance"
        PORTAL_SUPPORT = "portal_support", "Portal support"

    code = models.CharField(max_length=20, choices=Code.choices, unique=True)
    name = models.CharField(max_length=100)
    email = models.EmailField(blank=True, help_text="The team's shared mailbox: told of new threads.")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="teams")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ThreadQuerySet(models.QuerySet["Thread"]):
    def for_provider(self, provider: Provider) -> ThreadQuerySet:
        """The provider's own threads; another provider's is not there (a 404)."""
        return self.filter(provider=provider)

    def for_staff(self, user: User) -> ThreadQuerySet:
        return self.all() if user.is_council_staff else self.none()

    def all_providers_for_workers(self) -> ThreadQuerySet:
        return self.all()

    def disputes_going(self) -> ThreadQuerySet:
        """Disputes still going (`Thread.is_going_dispute`): what a line or an invoice may be in one of."""
        return (
            self.filter(kind=Thread.Kind.DISPUTE)
            .exclude(state=Thread.State.CLOSED)
            .exclude(outcome=Thread.Outcome.WITHDRAWN)
        )


class Thread(models.Model):
    class Kind(models.TextChoices):
        DISPUTE = "dispute", "Dispute"
        QUERY = "query", "Query"
        MESSAGE = "message", "Message from the council"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        AWAITING_PROVIDER = "awaiting_provider", "Waiting for the provider"
        AWAITING_COUNCIL = "awaiting_council", "Waiting for the council"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        UPHELD = "upheld", "Upheld"
        WITHDRAWN = "withdrawn", "Withdrawn"
        ADJUSTED = "adjusted", "Adjusted"
        ANSWERED = "answered", "Answered"  # a query or a message

    class QueryType(models.TextChoices):
        SERVICE_LINE_INCORRECT = "service_line_incorrect", "Service line incorrect"
        MISSING_SERVICE_LINE = "missing_service_line", "Missing service line"
        SERVICE_ENDED = "service_ended", "Service ended or person died"
        PAYMENT_QUERY = "payment_query", "Payment query"
        SUSPENDED_PAYMENT = "suspended_payment", "Suspended payment"
        RATE_UPLIFT = "rate_uplift", "Rate uplift"
        INVOICE_QUERY = "invoice_query", "Invoice or expense claim query"
        PORTAL_ACCESS = "portal_access", "Portal access"
        PASSWORD = "password", "Password or security code"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="threads")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    query_type = models.CharField(max_length=30, choices=QueryType.choices, blank=True)
    subject = models.CharField(max_length=200)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="threads")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True)
    outcome_reason = models.TextField(blank=True)
    due_on = models.DateField()
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    raised_by_council = models.BooleanField()
    last_message_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    # What it is about (any of them, or none for a general query).
    lines = models.ManyToManyField("actuals.ActualLine", blank=True, related_name="threads")
    week = models.ForeignKey(
        "actuals.ProviderWeek", null=True, blank=True, on_delete=models.PROTECT, related_name="threads"
    )
    remittance_line = models.ForeignKey(
        "remittances.RemittanceLine", null=True, blank=True, on_delete=models.PROTECT, related_name="threads"
    )
    invoice_ref = models.CharField(
        max_length=64, blank=True, help_text="The portal reference of the invoice it is about."
    )
    person = models.ForeignKey(
        ServiceUser, null=True, blank=True, on_delete=models.PROTECT, related_name="threads"
    )
    died_on = models.DateField(null=True, blank=True, help_text="A reported death: the date.")
    service_ended_on = models.DateField(null=True, blank=True, help_text="A reported end: the date.")
    claimed_amount = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="A payment dispute: what is owed."
    )
    lines_as_raised = models.JSONField(
        default=dict,
        blank=True,
        help_text=(
            "A council dispute on lines: each line as it was when raised (version, amount, quantities), and "
            "the version an outcome of this dispute last left it at: what withdrawn puts back."
        ),
    )

    objects = ThreadQuerySet.as_manager()

    class Meta:
        ordering = ["-last_message_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["dispute", "query", "message"]), name="thread_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(
                    state__in=["open", "awaiting_provider", "awaiting_council", "resolved", "closed"]
                ),
                name="thread_state_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind="query") | ~Q(query_type=""), name="thread_query_has_type"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "awaiting_provider", "awaiting_council"])
                | (Q(resolved_at__isnull=False) & ~Q(outcome="")),
                name="thread_resolved_has_outcome",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "-last_message_at"], name="thread_provider_recent"),
            models.Index(fields=["team", "state", "due_on"], name="thread_team_state_due"),
        ]

    def __str__(self) -> str:
        return f"{self.ref}: {self.subject}"

    @property
    def ref(self) -> str:
        """How people name it on the phone: D for a dispute, Q for a query, M for a message."""
        return f"{self.kind[0].upper()}{self.pk:06d}"

    @property
    def is_open(self) -> bool:
        return self.state not in (self.State.RESOLVED, self.State.CLOSED)

    @property
    def is_going_dispute(self) -> bool:
        """A dispute that can still be replied to or reopened (not closed, not withdrawn): a line or an
        invoice is in one of these at a time."""
        return (
            self.kind == self.Kind.DISPUTE
            and self.state != self.State.CLOSED
            and self.outcome != self.Outcome.WITHDRAWN
        )

    def rag(self, today: dt.date) -> str:
        """Red (overdue), amber (due within two days) or green, while it is open; "" once resolved."""
        if not self.is_open:
            return ""
        if today > self.due_on:
            return "red"
        return "amber" if (self.due_on - today).days <= 2 else "green"


class Message(models.Model):
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    from_council = models.BooleanField()
    body = models.TextField()
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["sent_at", "pk"]

    def __str__(self) -> str:
        return f"Message {self.pk} on {self.thread_id}"


class Attachment(models.Model):
    """A file sent with a message: kept outside the web root under a random name, its type found from its
    content, served only to people who may see the thread."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    name = models.CharField(max_length=120, help_text="The file's name, cleaned.")
    stored_as = models.CharField(max_length=80, unique=True)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class ThreadRead(models.Model):
    """When a user last read a thread: its unread count and its read receipts."""

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["thread", "user"], name="thread_read_once")]

    def __str__(self) -> str:
        return f"{self.user_id} read {self.thread_id} at {self.read_at}"


class PaymentAdjustment(models.Model):
    """Money put right after payment: sent to the back office through the outbox, paid or recovered in
    the next payment run (it shows on the next remittance as an adjustment)."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        PAID = "paid", "Paid"

    thread = models.ForeignKey(Thread, on_delete=models.PROTECT, related_name="adjustments")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="payment_adjustments")
    portal_ref = models.CharField(max_length=32, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2, help_text="Signed: negative recovers.")
    reason = models.TextField()
    applies_to = models.CharField(max_length=64, help_text="A portal line id or a remittance line's ref.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    status_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="adjustment_not_zero")]

    def __str__(self) -> str:
        return f"{self.portal_ref}: {self.amount}"
