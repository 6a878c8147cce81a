"""The care data the back office publishes: providers, service users, service types, care package lines.

The back office (ContrOCC) is the system of record; these are the portal's copies. Providers cannot edit
them, only report that they are wrong. Every provider-owned row is read through a scoped queryset
(`for_provider`, `for_staff`), never through a bare `.objects` lookup in a view.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q

if TYPE_CHECKING:
    from portal.accounts.models import User


class Provider(models.Model):
    class Kind(models.TextChoices):
        ADULT = "adult", "Adult care provider"
        CHILDREN = "children", "Children's agency"
        FOSTER_CARER = "foster_carer", "Foster carer"

    ref = models.CharField("provider reference", max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    email = models.EmailField(blank=True)
    active = models.BooleanField(default=True, help_text="Active in the back office.")
    portal_enabled = models.BooleanField(
        default=False, help_text="A portal administrator switched access on."
    )
    portal_enabled_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["adult", "children", "foster_carer"]), name="provider_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ref})"


class ServiceUserQuerySet(models.QuerySet["ServiceUser"]):
    def for_provider(self, provider: Provider) -> ServiceUserQuerySet:
        """The people the provider has (or had) a care package line for: nobody else."""
        return self.filter(pk__in=CarePackageLine.objects.for_provider(provider).values("service_user_id"))


class ServiceUser(models.Model):
    """A person receiving care; providers know them by name and the council's client reference."""

    ref = models.CharField("client reference", max_length=32, unique=True)
    name = models.CharField(max_length=200)
    date_of_birth = models.DateField(null=True, blank=True)
    deceased_on = models.DateField("date of death", null=True, blank=True)
    death_reported_on = models.DateField(
        "date of death reported by a provider",
        null=True,
        blank=True,
        help_text="From a provider's query, until the back office records the death (`deceased_on`).",
    )
    death_reported_by = models.ForeignKey(
        "Provider",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The provider that reported it: until the council confirms, it flags only their lines.",
    )
    death_confirmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the council confirmed the reported death: it then flags every provider's lines.",
    )
    death_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ServiceUserQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        # Lists of lines and actuals are ordered by the person's name: with this index PostgreSQL walks
        # people in order and stops at a page's worth, instead of joining and sorting every line.
        indexes = [models.Index(fields=["name", "id"], name="service_user_name")]
        constraints = [
            models.CheckConstraint(
                condition=Q(deceased_on__isnull=True)
                | Q(date_of_birth__isnull=True)
                | Q(deceased_on__gte=F("date_of_birth")),
                name="service_user_death_after_birth",
            ),
            models.CheckConstraint(
                condition=Q(death_confirmed_at__isnull=True) | Q(death_reported_on__isnull=False),
                name="service_user_death_confirmed_was_reported",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.ref})"


class ServiceType(models.Model):
    class Unit(models.TextChoices):
        HOURS = "hours", "hours"
        VISITS = "visits", "visits"
        SESSIONS = "sessions", "sessions"
        DAYS = "days", "days"
        NIGHTS = "nights", "nights"
        WEEKS = "weeks", "weeks"
        MEALS = "meals", "meals"
        TRIPS = "trips", "trips"

    class PaidOn(models.TextChoices):
        ACTUALS = "actuals", "Actuals"
        PLAN = "plan", "Plan"
        INVOICE = "invoice", "Invoice"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    step = models.DecimalField(
        max_digits=6, decimal_places=2, help_text="Quantities are recorded in this step."
    )
    allows_extras = models.BooleanField(default=True)
    paid_on = models.CharField(max_length=10, choices=PaidOn.choices)
    tolerance_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(step__gt=0), name="service_type_step_positive"),
            models.CheckConstraint(
                condition=Q(tolerance_percent__gte=0), name="service_type_tolerance_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(
                    unit__in=["hours", "visits", "sessions", "days", "nights", "weeks", "meals", "trips"]
                ),
                name="service_type_unit_valid",
            ),
            models.CheckConstraint(
                condition=Q(paid_on__in=["actuals", "plan", "invoice"]), name="service_type_paid_on_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CarePackageLineQuerySet(models.QuerySet["CarePackageLine"]):
    def for_provider(self, provider: Provider) -> CarePackageLineQuerySet:
        """The provider's own lines; another provider's line is simply not there (a 404)."""
        return self.filter(provider=provider)

    def for_staff(self, user: User) -> CarePackageLineQuerySet:
        """Every provider's lines, for council staff; nothing for anyone else."""
        if not user.is_council_staff:
            return self.none()
        return self.all()

    def all_providers_for_sync(self) -> CarePackageLineQuerySet:
        """Every line, for workers keeping the portal in step with the back office."""
        return self.all()

    def with_related(self) -> CarePackageLineQuerySet:
        return self.select_related("provider", "service_user", "service_type")


class CarePackageLine(models.Model):
    """One commissioned service for one service user, as published by the back office."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        ENDED = "ended", "Ended"

    ref = models.CharField("line reference", max_length=32, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="care_package_lines")
    service_user = models.ForeignKey(ServiceUser, on_delete=models.PROTECT, related_name="care_package_lines")
    service_type = models.ForeignKey(ServiceType, on_delete=models.PROTECT, related_name="care_package_lines")
    planned_per_week = models.DecimalField("planned per week", max_digits=8, decimal_places=2)
    rate = models.DecimalField("unit rate", max_digits=10, decimal_places=2)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CarePackageLineQuerySet.as_manager()

    class Meta:
        ordering = ["service_user__name", "ref"]
        indexes = [
            models.Index(fields=["provider", "status"], name="cpl_provider_status"),
            models.Index(fields=["provider", "service_type"], name="cpl_provider_service_type"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="care_package_line_rate_positive"),
            models.CheckConstraint(
                condition=Q(planned_per_week__gte=0), name="care_package_line_planned_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="care_package_line_end_not_before_start",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "suspended", "ended"]),
                name="care_package_line_status_valid",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="care_package_line_version_positive"),
        ]

    def __str__(self) -> str:
        return self.ref
