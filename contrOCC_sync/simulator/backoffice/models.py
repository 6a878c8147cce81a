"""The back office's records: the council's care data, what the portal sent, what was paid and charged.

References the API shows (SUB…, ACL…, INV…, EXP…, ADJ…, PR…, RMT…) are the primary key behind a
prefix: nothing to generate, nothing to keep in step. Money and quantities are Decimal, two places.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import F, Q

if TYPE_CHECKING:
    from django.db.models.fields.related_descriptors import RelatedManager

# Foreign key ids and reverse relations are declared for the type checker: the project's mypy runs with
# the portal's settings, which do not install this app, so django-stubs cannot add them itself.

MONEY = {"max_digits": 12, "decimal_places": 2}
QUANTITY = {"max_digits": 10, "decimal_places": 2}


def make_ref(prefix: str, pk: int | None) -> str:
    return f"{prefix}{pk:07d}" if pk is not None else ""


def parse_ref(prefix: str, ref: str) -> int | None:
    """The primary key behind a reference, or None when it is not one of ours."""
    if not ref.startswith(prefix) or not ref[len(prefix) :].isdigit():
        return None
    return int(ref[len(prefix) :])


# Reference data (published to the portal) ------------------------------------------------------


class ServiceType(models.Model):
    class Unit(models.TextChoices):
        HOURS = "hours"
        VISITS = "visits"
        SESSIONS = "sessions"
        DAYS = "days"
        NIGHTS = "nights"
        WEEKS = "weeks"
        MEALS = "meals"
        TRIPS = "trips"

    class PaidOn(models.TextChoices):
        ACTUALS = "actuals"
        PLAN = "plan"
        INVOICE = "invoice"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    step = models.DecimalField(max_digits=6, decimal_places=2)
    allows_extras = models.BooleanField(default=True)
    paid_on = models.CharField(max_length=10, choices=PaidOn.choices)
    tolerance_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))

    objects: models.Manager[ServiceType] = models.Manager()

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(step__gt=0), name="bo_service_type_step_positive")]

    def __str__(self) -> str:
        return self.code


class Provider(models.Model):
    class Kind(models.TextChoices):
        ADULT = "adult"
        CHILDREN = "children"
        FOSTER_CARER = "foster_carer"

    ref = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    email = models.CharField(max_length=254, blank=True)
    active = models.BooleanField(default=True)

    objects: models.Manager[Provider] = models.Manager()

    def __str__(self) -> str:
        return self.ref


class ServiceUser(models.Model):
    ref = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True)
    deceased_on = models.DateField(null=True, blank=True)
    # The financial assessment's result: what the person pays a week towards their care (nil for many).
    weekly_contribution = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))

    objects: models.Manager[ServiceUser] = models.Manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(weekly_contribution__gte=0), name="bo_service_user_contribution_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.ref


class CarePackageLine(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"
        ENDED = "ended"

    ref = models.CharField(max_length=32, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="lines")
    provider_id: int
    service_user = models.ForeignKey(ServiceUser, on_delete=models.PROTECT, related_name="lines")
    service_user_id: int
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="lines")
    service_type_id: int
    planned_per_week = models.DecimalField(max_digits=10, decimal_places=2)
    rate = models.DecimalField(max_digits=12, decimal_places=2)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    version = models.PositiveIntegerField(default=1)  # bumped by every change

    objects: models.Manager[CarePackageLine] = models.Manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="bo_line_rate_positive"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="bo_line_end_not_before_start",
            ),
        ]

    def __str__(self) -> str:
        return self.ref


# The change feed ----------------------------------------------------------------------------------


class FeedEntry(models.Model):
    """One change, as published: the cursor is `id`, which is assigned in commit order (see feed.py)."""

    class Stream(models.TextChoices):
        SERVICE_TYPES = "service-types"
        PROVIDERS = "providers"
        SERVICE_USERS = "service-users"
        CARE_PACKAGE_LINES = "care-package-lines"
        SUBMISSION_EVENTS = "submission-events"
        REMITTANCES = "remittances"

    stream = models.CharField(max_length=32, choices=Stream.choices)
    key = models.CharField(max_length=64)  # the changed record's reference
    payload = models.JSONField()  # the record as it was at this change
    created_at = models.DateTimeField()

    objects: models.Manager[FeedEntry] = models.Manager()

    class Meta:
        indexes = [models.Index(fields=["stream", "id"], name="bo_feed_stream_id")]

    def __str__(self) -> str:
        return f"{self.stream} {self.pk}"


# What the portal sent -----------------------------------------------------------------------------


class ItemStatus(models.TextChoices):
    RECEIVED = "received"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"
    PAID = "paid"


class Submission(models.Model):
    """One POST of actuals: a provider's week, or part of it."""

    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="submissions")
    provider_id: int
    if TYPE_CHECKING:
        lines: RelatedManager[ReceivedLine]
    week_start = models.DateField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField()

    objects: models.Manager[Submission] = models.Manager()

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return make_ref("SUB", self.pk)


class PortalLine(models.Model):
    """Every version of one portal line meets here: the row each receipt locks, and what was paid."""

    portal_line_id = models.CharField(max_length=64, unique=True)
    latest_version = models.PositiveIntegerField(default=0)
    paid_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))

    objects: models.Manager[PortalLine] = models.Manager()

    def __str__(self) -> str:
        return self.portal_line_id


class ReceivedLine(models.Model):
    """One version of one actual line, recorded once, with the back office's decision on it."""

    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, related_name="lines")
    submission_id: int
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="received_lines")
    provider_id: int
    portal_line_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    care_package_line_ref = models.CharField(max_length=32)
    care_package_line = models.ForeignKey(
        CarePackageLine, on_delete=models.PROTECT, null=True, blank=True, related_name="received_lines"
    )
    care_package_line_id: int | None
    week_start = models.DateField()
    planned = models.DecimalField(max_digits=10, decimal_places=2)
    delivered = models.DecimalField(max_digits=10, decimal_places=2)
    frustrated = models.DecimalField(max_digits=10, decimal_places=2)
    missed = models.DecimalField(max_digits=10, decimal_places=2)
    extra = models.DecimalField(max_digits=10, decimal_places=2)
    adjustment_form_ref = models.CharField(max_length=64, blank=True)
    comment = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)  # the portal's figure
    # The back office's own computation (null when the care package line is unknown).
    paid_quantity = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    rate = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    computed_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=12, choices=ItemStatus.choices)
    first_status = models.CharField(max_length=12, choices=ItemStatus.choices)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField()
    receipts = models.PositiveIntegerField(default=1)  # arrivals of this version, repeats included

    objects: models.Manager[ReceivedLine] = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["portal_line_id", "version"], name="bo_received_line_once"),
        ]
        indexes = [models.Index(fields=["status", "received_at"], name="bo_received_line_status")]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return make_ref("ACL", self.pk)


class _PortalItem(models.Model):
    """An invoice, expense claim or adjustment: identified by the portal's reference, recorded once."""

    portal_ref = models.CharField(max_length=64, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="+")
    provider_id: int
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=12, choices=ItemStatus.choices)
    first_status = models.CharField(max_length=12, choices=ItemStatus.choices)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=40, blank=True)
    received_at = models.DateTimeField()
    receipts = models.PositiveIntegerField(default=1)

    class Meta:
        abstract = True


class Invoice(_PortalItem):
    service_user_ref = models.CharField(max_length=32)
    care_package_line_ref = models.CharField(max_length=32, blank=True)
    period_start = models.DateField()
    period_end = models.DateField()
    provider_invoice_number = models.CharField(max_length=64, blank=True)
    lines = models.JSONField()  # [{description, quantity, rate, amount}] as strings

    objects: models.Manager[Invoice] = models.Manager()

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return make_ref("INV", self.pk)


class ExpenseClaim(_PortalItem):
    service_user_ref = models.CharField(max_length=32, blank=True)
    category = models.CharField(max_length=64)
    incurred_on = models.DateField()
    description = models.TextField(blank=True)

    objects: models.Manager[ExpenseClaim] = models.Manager()

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return make_ref("EXP", self.pk)


class Adjustment(_PortalItem):
    reason_text = models.TextField(blank=True)
    dispute_ref = models.CharField(max_length=64, blank=True)
    applies_to = models.CharField(max_length=64, blank=True)

    objects: models.Manager[Adjustment] = models.Manager()

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return make_ref("ADJ", self.pk)


class ForcedDecision(models.Model):
    """A test's instruction: decide this item so when it arrives (/sim/decisions)."""

    class Kind(models.TextChoices):
        ACTUAL_LINE = "actual_line"
        INVOICE = "invoice"
        EXPENSE_CLAIM = "expense_claim"
        ADJUSTMENT = "adjustment"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    target = models.CharField(max_length=100)  # "<portal_line_id>:<version>" or the portal_ref
    decision = models.CharField(max_length=10, choices=[("accept", "accept"), ("reject", "reject")])
    reason = models.TextField(blank=True)

    objects: models.Manager[ForcedDecision] = models.Manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "target"], name="bo_forced_decision_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.target}: {self.decision}"


class FaultSettings(models.Model):
    """The one row of fault injection (/sim/faults), shared by every web worker through the database."""

    error_rate = models.FloatField(default=0)
    timeout_rate = models.FloatField(default=0)
    drop_after_commit_rate = models.FloatField(default=0)
    throttle_rate = models.FloatField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    hang_seconds = models.FloatField(default=30)

    objects: models.Manager[FaultSettings] = models.Manager()

    def __str__(self) -> str:
        return "fault settings"


# Payments and charges -----------------------------------------------------------------------------


class PaymentRun(models.Model):
    class Kind(models.TextChoices):
        SCHEDULED = "scheduled"
        MANUAL = "manual"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The Monday of the week of a scheduled run: one scheduled run a week, whatever the scheduler does.
    week_of = models.DateField(null=True, blank=True, unique=True)
    started_at = models.DateTimeField()
    cutoff = models.DateTimeField()  # actual lines received before this are paid
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    items = models.PositiveIntegerField(default=0)

    objects: models.Manager[PaymentRun] = models.Manager()

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return make_ref("PR", self.pk)


class Remittance(models.Model):
    payment_run = models.ForeignKey(PaymentRun, on_delete=models.PROTECT, related_name="remittances")
    payment_run_id: int
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="remittances")
    provider_id: int
    paid_on = models.DateField()
    total = models.DecimalField(max_digits=12, decimal_places=2)

    objects: models.Manager[Remittance] = models.Manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment_run", "provider"], name="bo_remittance_per_provider")
        ]

    def __str__(self) -> str:
        return self.ref

    @property
    def ref(self) -> str:
        return make_ref("RMT", self.pk)


class RemittanceLine(models.Model):
    class Kind(models.TextChoices):
        ACTUAL_LINE = "actual_line"
        INVOICE = "invoice"
        EXPENSE_CLAIM = "expense_claim"
        ADJUSTMENT = "adjustment"

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="lines")
    remittance_id: int
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source_ref = models.CharField(max_length=32)  # the paid item's reference (ACL…, INV…, EXP…, ADJ…)
    portal_ref = models.CharField(max_length=64, blank=True)
    portal_line_id = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(null=True, blank=True)
    service_user_ref = models.CharField(max_length=32, blank=True)
    description = models.TextField()
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    rate = models.DecimalField(max_digits=12, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    objects: models.Manager[RemittanceLine] = models.Manager()

    class Meta:
        indexes = [models.Index(fields=["portal_line_id"], name="bo_remittance_line_portal_line")]

    def __str__(self) -> str:
        return f"{self.source_ref} {self.amount}"


class ChargingRun(models.Model):
    period_start = models.DateField(unique=True)
    period_end = models.DateField()
    if TYPE_CHECKING:
        charges: RelatedManager[Charge]
    run_at = models.DateTimeField()
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))

    objects: models.Manager[ChargingRun] = models.Manager()

    def __str__(self) -> str:
        return f"charging {self.period_start}"


class Charge(models.Model):
    charging_run = models.ForeignKey(ChargingRun, on_delete=models.CASCADE, related_name="charges")
    charging_run_id: int
    service_user = models.ForeignKey(ServiceUser, on_delete=models.PROTECT, related_name="charges")
    service_user_id: int
    weekly_contribution = models.DecimalField(max_digits=12, decimal_places=2)
    contribution_due = models.DecimalField(max_digits=12, decimal_places=2)  # 4 × the weekly contribution
    delivered_cost = models.DecimalField(max_digits=12, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)  # the lesser of the two

    objects: models.Manager[Charge] = models.Manager()

    def __str__(self) -> str:
        return f"charge {self.pk}"


class ChargeLine(models.Model):
    charge = models.ForeignKey(Charge, on_delete=models.CASCADE, related_name="lines")
    charge_id: int
    received_line = models.ForeignKey(ReceivedLine, on_delete=models.PROTECT, related_name="+")
    received_line_id: int
    delivered = models.DecimalField(max_digits=10, decimal_places=2)
    rate = models.DecimalField(max_digits=12, decimal_places=2)
    cost = models.DecimalField(max_digits=12, decimal_places=2)

    objects: models.Manager[ChargeLine] = models.Manager()

    def __str__(self) -> str:
        return f"charge line {self.pk}"


# Idempotency --------------------------------------------------------------------------------------


class IdempotencyRecord(models.Model):
    """The first answer to a write, kept under its Idempotency-Key, committed with the write itself."""

    key = models.CharField(max_length=255, unique=True)
    request_hash = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=255)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField()

    objects: models.Manager[IdempotencyRecord] = models.Manager()

    def __str__(self) -> str:
        return self.key
