"""The portal's side of the back-office link: the outbox, the inbound streams and their cursors, parked
rows, sync runs, the heartbeat, and the portal's copy of the back office's decisions."""

from __future__ import annotations

import uuid

from django.db import models


class OutboxMessage(models.Model):
    """One write for the back office, stored in the transaction of the change that caused it, with its
    idempotency key fixed then. Delivered after commit, at least once; the key makes it exactly once."""

    class Kind(models.TextChoices):
        ACTUALS_SUBMISSION = "actuals_submission", "Actuals"
        INVOICE = "invoice", "Invoice"
        EXPENSE_CLAIM = "expense_claim", "Expense claim"
        ADJUSTMENT = "adjustment", "Payment adjustment"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be delivered"
        DELIVERED = "delivered", "Delivered"
        REFUSED = "refused", "Refused by the back office"

    PATHS: dict[str, str] = {
        Kind.ACTUALS_SUBMISSION: "actuals-submissions",
        Kind.INVOICE: "invoices",
        Kind.EXPENSE_CLAIM: "expense-claims",
        Kind.ADJUSTMENT: "adjustments",
    }

    kind = models.CharField(max_length=30, choices=Kind.choices)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    body = models.JSONField()
    provider = models.ForeignKey(
        "providers.Provider", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    summary = models.CharField(max_length=200, blank=True, help_text="What it is, for staff pages.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    refused_at = models.DateTimeField(null=True, blank=True)
    refusal = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.idempotency_key} ({self.state})"


class SyncStream(models.Model):
    """One inbound stream from the back office and where the portal has read it to."""

    class Name(models.TextChoices):
        SERVICE_TYPES = "service-types", "Service types"
        PROVIDERS = "providers", "Providers"
        SERVICE_USERS = "service-users", "Service users"
        CARE_PACKAGE_LINES = "care-package-lines", "Care package lines"
        SUBMISSION_EVENTS = "submission-events", "Decisions on what the portal sent"
        REMITTANCES = "remittances", "Remittances"
        PAYMENT_SCHEDULE = "payment-schedule", "Payment schedule"

    name = models.CharField(max_length=30, choices=Name.choices, unique=True)
    cursor = models.CharField(max_length=100, blank=True, help_text="Stored only after its page is applied.")
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the portal team was told it fails."
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.get_name_display()


class SyncRun(models.Model):
    """One pull of one stream: what, when, how many, and what went wrong."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        OK = "ok", "Succeeded"
        FAILED = "failed", "Failed"

    stream = models.ForeignKey(SyncStream, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    pages = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    parked = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["stream", "-started_at"], name="syncrun_stream_recent")]

    def __str__(self) -> str:
        return f"{self.stream} at {self.started_at:%Y-%m-%d %H:%M} ({self.status})"


class ParkedRow(models.Model):
    """A row from the back office the portal could not apply: parked (it refers to something the portal
    does not have yet: retried at every pull) or skipped (it can never apply: shown to staff)."""

    class State(models.TextChoices):
        PARKED = "parked", "Parked, retried at every pull"
        SKIPPED = "skipped", "Skipped: can never apply"
        APPLIED = "applied", "Applied later"

    stream = models.ForeignKey(SyncStream, on_delete=models.CASCADE, related_name="parked_rows")
    key = models.CharField(max_length=100, help_text="The row's reference, for staff.")
    payload = models.JSONField()
    reason = models.TextField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PARKED)
    first_seen_at = models.DateTimeField()
    last_tried_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=1)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["first_seen_at", "pk"]
        indexes = [models.Index(fields=["stream", "state"], name="parkedrow_stream_state")]

    def __str__(self) -> str:
        return f"{self.stream}: {self.key} ({self.state})"


class Heartbeat(models.Model):
    """The last answer of the back office's health endpoint, recorded by a beat task (never by a web
    request). /healthz reads it."""

    component = models.CharField(max_length=30, unique=True)
    checked_at = models.DateTimeField()
    ok = models.BooleanField()
    detail = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.component}: {'up' if self.ok else 'down'} at {self.checked_at:%H:%M:%S}"


class SubmissionEvent(models.Model):
    """The back office's decision on something the portal sent (an actual line version, an invoice, an
    expense claim, an adjustment), as pulled from its submission-events feed."""

    kind = models.CharField(max_length=20)
    ref = models.CharField(max_length=64, blank=True)
    portal_ref = models.CharField(max_length=64, blank=True)
    portal_line_id = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=0, help_text="0 for anything but an actual line.")
    status = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "ref", "portal_ref", "portal_line_id", "version", "status"],
                name="submission_event_once",
            )
        ]
        indexes = [models.Index(fields=["kind", "portal_line_id", "version"], name="subevent_line")]

    def __str__(self) -> str:
        return f"{self.kind} {self.portal_line_id or self.portal_ref} → {self.status}"
