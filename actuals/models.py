"""Weeks and actual lines: what a provider says it delivered, line by line, week by week.

A provider's week: not started (no row) → in progress (generated) → confirmed (on time or late) →
corrected (a line corrected after confirmation). An actual line: draft → confirmed, and from then on its
place in the back office's hands (`ActualLine.Status`, transitions in `LINE_TRANSITIONS`). Every
provider-owned row is read through a scoped queryset (`for_provider`, `for_staff`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from actuals.calendar import week_end, week_label
from portal.providers.models import CarePackageLine, Provider

if TYPE_CHECKING:
    from portal.accounts.models import User


def quantity_field(verbose_name: str | None = None, **kwargs: Any) -> models.DecimalField:
    """A quantity of a unit (hours, sessions, …): two places, up to 999,999.99."""
    return models.DecimalField(verbose_name, max_digits=8, decimal_places=2, **kwargs)


class ClosureDay(models.Model):
    """A day the council is closed (bank holidays, the days between Christmas and New Year): a deadline
    that falls on one moves to the next working day. Edited by council staff."""

    day = models.DateField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day}: {self.name}"


class ProviderWeekQuerySet(models.QuerySet["ProviderWeek"]):
    def for_provider(self, provider: Provider) -> ProviderWeekQuerySet:
        return self.filter(provider=provider)

    def for_staff(self, user: User) -> ProviderWeekQuerySet:
        return self.all() if user.is_council_staff else self.none()

    def all_providers_for_workers(self) -> ProviderWeekQuerySet:
        return self.all()


class ProviderWeek(models.Model):
    """One provider's week of actuals: generated, then confirmed once (and possibly corrected)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        CONFIRMED = "confirmed", "Confirmed"
        CORRECTED = "corrected", "Corrected"

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="weeks")
    week_start = models.DateField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    deadline = models.DateTimeField(help_text="When the week's actuals were due, as computed at generation.")
    generated_at = models.DateTimeField()
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    late = models.BooleanField(default=False, help_text="Confirmed after the deadline.")
    nil_return = models.BooleanField(default=False, help_text="Confirmed as no service this week.")
    reminded_at = models.DateTimeField(null=True, blank=True)

    objects = ProviderWeekQuerySet.as_manager()

    class Meta:
        ordering = ["-week_start", "provider__name"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "week_start"], name="provider_week_once"),
            models.CheckConstraint(
                condition=Q(state__in=["in_progress", "confirmed", "corrected"]), name="provider_week_state"
            ),
            models.CheckConstraint(
                condition=Q(state="in_progress") | Q(confirmed_at__isnull=False),
                name="provider_week_confirmed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["week_start", "state"], name="provider_week_by_week")]

    def __str__(self) -> str:
        return f"{self.provider.ref}: {week_label(self.week_start)}"

    @property
    def week_end(self):  # type: ignore[no-untyped-def]
        return week_end(self.week_start)

    @property
    def is_confirmed(self) -> bool:
        return self.state != self.State.IN_PROGRESS


class ActualLineQuerySet(models.QuerySet["ActualLine"]):
    def for_provider(self, provider: Provider) -> ActualLineQuerySet:
        """The provider's own actual lines; another provider's line is not there (a 404)."""
        return self.filter(provider=provider)

    def for_staff(self, user: User) -> ActualLineQuerySet:
        return self.all() if user.is_council_staff else self.none()

    def all_providers_for_sync(self) -> ActualLineQuerySet:
        """Every line, for workers applying the back office's decisions."""
        return self.all()

    def with_related(self) -> ActualLineQuerySet:
        return self.select_related(
            "care_package_line__service_type", "care_package_line__service_user", "week", "provider"
        )


class ActualLine(models.Model):
    """What was delivered in one week on one care package line. Its primary key is the `portal_line_id`
    the back office knows it by; `version` goes up by one with each correction."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        HELD = "held", "Held for review"
        DISPUTED = "disputed", "Disputed"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        PAID = "paid", "Paid"
        NOT_PAYABLE = "not_payable", "Not payable"  # a dispute upheld before any version was sent

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="actual_lines")
    week = models.ForeignKey(ProviderWeek, on_delete=models.PROTECT, related_name="lines")
    care_package_line = models.ForeignKey(
        CarePackageLine, on_delete=models.PROTECT, related_name="actual_lines"
    )
    care_package_line_version = models.PositiveIntegerField(
        help_text="The care package line's version when this line was generated or last refreshed."
    )
    version = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    planned = quantity_field()
    delivered = quantity_field()
    frustrated = quantity_field(default=Decimal("0"))
    missed = quantity_field(default=Decimal("0"))
    extra = quantity_field(default=Decimal("0"))
    adjustment_form_ref = models.CharField("adjustment form reference", max_length=64, blank=True)
    comment = models.TextField(blank=True)
    no_service = models.BooleanField(default=False, help_text="Part of a nil return: no service this week.")
    rate = models.DecimalField(max_digits=10, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    revision = models.PositiveIntegerField(
        default=1, help_text="Goes up with every save: an edit made on an older revision is refused."
    )
    amended = models.BooleanField(default=False, help_text="Changed by a person since it was generated.")
    amended_at = models.DateTimeField(null=True, blank=True)
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    correction_reason = models.TextField(blank=True)
    review_reason = models.TextField(blank=True, help_text="The finance officer's reason for the decision.")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    backoffice_reason = models.TextField(blank=True, help_text="Why the back office rejected it.")
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = ActualLineQuerySet.as_manager()

    class Meta:
        ordering = ["care_package_line__service_user__name", "care_package_line__ref"]
        constraints = [
            models.UniqueConstraint(fields=["week", "care_package_line"], name="actual_line_once_a_week"),
            models.CheckConstraint(
                condition=Q(delivered__gte=0) & Q(frustrated__gte=0) & Q(missed__gte=0) & Q(extra__gte=0),
                name="actual_line_quantities_not_negative",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="actual_line_version_positive"),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "held",
                        "disputed",
                        "sent",
                        "accepted",
                        "rejected",
                        "paid",
                        "not_payable",
                    ]
                ),
                name="actual_line_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(confirmed_at__isnull=False),
                name="actual_line_confirmed_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "status"], name="actual_line_provider_status"),
            models.Index(fields=["status", "week"], name="actual_line_status_week"),
        ]

    def __str__(self) -> str:
        return f"Actual line {self.pk} v{self.version} ({self.care_package_line.ref})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def differs_from_plan(self) -> bool:
        return bool(self.delivered != self.planned or self.frustrated or self.missed or self.extra)

    @property
    def care_package_line_changed(self) -> bool:
        """The care package line changed in the back office after this line was generated."""
        return self.care_package_line.version != self.care_package_line_version

    @property
    def can_be_corrected(self) -> bool:
        return (
            self.status in (self.Status.SENT, self.Status.ACCEPTED, self.Status.REJECTED, self.Status.HELD)
            and not self.correction_reason
        )


class SentVersionQuerySet(models.QuerySet["SentVersion"]):
    def for_provider(self, provider: Provider) -> SentVersionQuerySet:
        return self.filter(line__provider=provider)


class SentVersion(models.Model):
    """One version of an actual line as it went to the back office, and what the back office made of
    that version. The back office decides on each version separately (CONTROCC_API.md: a version can be
    paid after a later one was sent, and an earlier one superseded), so the decisions live here; the
    line's own `status` follows its current version."""

    class Status(models.TextChoices):
        SENT = "sent", "Sent"
        RECEIVED = "received", "Received"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        SUPERSEDED = "superseded", "Superseded"
        PAID = "paid", "Paid"

    line = models.ForeignKey(ActualLine, on_delete=models.PROTECT, related_name="sent_versions")
    version = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    payload = models.JSONField(help_text="The line exactly as it was sent.")
    sent_at = models.DateTimeField()
    why = models.CharField(max_length=100, help_text="What sent it: confirmed, approved, corrected.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    reason = models.TextField(blank=True, help_text="The back office's reason (for a rejection).")
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = SentVersionQuerySet.as_manager()

    class Meta:
        ordering = ["line", "version"]
        constraints = [
            models.UniqueConstraint(fields=["line", "version"], name="sent_version_once"),
            models.CheckConstraint(
                condition=Q(status__in=["sent", "received", "accepted", "rejected", "superseded", "paid"]),
                name="sent_version_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"Line {self.line_id} v{self.version}: {self.status}"


class LineException(models.Model):
    """A rule an actual line breaks, as the rules engine found it at the line's last change. Blocking ones
    stop the week being confirmed; the others need acknowledging with a reason, then finance review."""

    class Severity(models.TextChoices):
        BLOCKING = "blocking", "Must be fixed"
        ACKNOWLEDGE = "acknowledge", "Needs a reason"

    line = models.ForeignKey(ActualLine, on_delete=models.CASCADE, related_name="exceptions")
    rule = models.CharField(max_length=10)
    severity = models.CharField(max_length=12, choices=Severity.choices)
    message = models.CharField(max_length=400)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why the provider says the line is right as it is.")

    class Meta:
        ordering = ["line", "severity", "rule"]
        constraints = [
            models.UniqueConstraint(fields=["line", "rule"], name="line_exception_once"),
            models.CheckConstraint(
                condition=Q(severity__in=["blocking", "acknowledge"]), name="line_exception_severity"
            ),
            models.CheckConstraint(
                condition=Q(acknowledged_at__isnull=True) | (Q(severity="acknowledge") & ~Q(reason="")),
                name="line_exception_acknowledged_with_reason",
            ),
        ]
        indexes = [models.Index(fields=["rule", "severity"], name="line_exception_rule")]

    def __str__(self) -> str:
        return f"{self.rule} on line {self.line_id}"

    @property
    def is_blocking(self) -> bool:
        return self.severity == self.Severity.BLOCKING

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class DeadlineReminderQuerySet(models.QuerySet["DeadlineReminder"]):
    def for_staff(self, user: User) -> DeadlineReminderQuerySet:
        return self.all() if user.is_council_staff else self.none()

    def all_providers_for_workers(self) -> DeadlineReminderQuerySet:
        return self.all()


class DeadlineReminder(models.Model):
    """One reminder email to one provider that a week's actuals are due (or overdue).

    A row of its own rather than `ProviderWeek.reminded_at` alone: a provider that has not started the
    week has no ProviderWeek, and creating one to hold the time would say the week had been generated
    ("in progress") when it had not. `run` names the sending: `auto:<date>:<slot>` for the scheduled
    ones, the confirmation page's token for a finance officer's. It is unique with the provider and the
    week, so a run repeated (the beat's task delivered twice, the form submitted twice) reminds nobody
    twice. `ProviderWeek.reminded_at` still follows the last reminder, where the week exists.
    """

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="deadline_reminders")
    week_start = models.DateField()
    run = models.CharField(max_length=64)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    recipients = models.PositiveIntegerField(help_text="How many addresses the email went to.")

    objects = DeadlineReminderQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "week_start", "run"], name="deadline_reminder_once_a_run"
            ),
        ]
        indexes = [models.Index(fields=["week_start", "provider"], name="deadline_reminder_by_week")]

    def __str__(self) -> str:
        return f"Reminder to {self.provider.ref}: {week_label(self.week_start)}"


class ActualsUploadQuerySet(models.QuerySet["ActualsUpload"]):
    def for_provider(self, provider: Provider) -> ActualsUploadQuerySet:
        """The provider's own uploads; another provider's upload is not there (a 404)."""
        return self.filter(provider=provider)

    def pending(self, now: dt.datetime) -> ActualsUploadQuerySet:
        return self.filter(applied_at__isnull=True, expires_at__gt=now)


class ActualsUpload(models.Model):
    """A checked upload (a claim form or a file of call-monitoring visits) waiting between its preview
    and being applied: what it would change and what is wrong with it, as JSON. The file itself is not
    kept. It expires, so a preview left open for hours is checked again against the lines as they are."""

    class Kind(models.TextChoices):
        CLAIM_FORM = "claim_form", "Claim form"
        VISITS = "visits", "Call monitoring visits"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="actuals_uploads")
    week = models.ForeignKey(ProviderWeek, on_delete=models.CASCADE, related_name="uploads")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    file_name = models.CharField(max_length=255, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Rows read from the file.")
    changes = models.JSONField(default=list, blank=True, help_text="What applying would change, by line.")
    problems = models.JSONField(
        default=list, blank=True, help_text="Claim forms: what stops it applying. Visits: unmatched visits."
    )
    problem_count = models.PositiveIntegerField(
        default=0, help_text="All of them (`problems` keeps the first)."
    )
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ActualsUploadQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["claim_form", "visits"]), name="actuals_upload_kind"
            ),
        ]
        indexes = [models.Index(fields=["provider", "expires_at"], name="actuals_upload_provider")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} upload {self.pk} ({self.provider.ref})"
