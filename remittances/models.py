"""The portal's copies of what the back office pays: remittance advice and the payment schedule.

Pulled by contrOCC_sync's workers; pages read these, never the back office. Issue #8 builds the pages,
PDFs and downloads on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from portal.providers.models import Provider

if TYPE_CHECKING:
    from portal.accounts.models import User


class RemittanceQuerySet(models.QuerySet["Remittance"]):
    def for_provider(self, provider: Provider) -> RemittanceQuerySet:
        return self.filter(provider=provider)

    def for_staff(self, user: User) -> RemittanceQuerySet:
        """Every provider's, for council staff; nothing for anyone else."""
        return self.all() if user.is_council_staff else self.none()


def remittances_of(provider: Provider) -> str:
    """The name figures built from the provider's remittances depend on (portal.cached): the home page's
    paid panel. Remittances only ever arrive (never change), through the sync."""
    return f"remittances:{provider.pk}"


class Remittance(models.Model):
    """What one payment run paid one provider, line by line."""

    ref = models.CharField(max_length=32, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="remittances")
    payment_run_ref = models.CharField(max_length=32)
    paid_on = models.DateField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    received_at = models.DateTimeField()

    objects = RemittanceQuerySet.as_manager()

    class Meta:
        ordering = ["-paid_on", "ref"]
        indexes = [models.Index(fields=["provider", "-paid_on"], name="remittance_provider_paid")]

    def __str__(self) -> str:
        return f"{self.ref} ({self.paid_on})"


class RemittanceLine(models.Model):
    class Kind(models.TextChoices):
        ACTUAL_LINE = "actual_line", "Actuals"
        INVOICE = "invoice", "Invoice"
        EXPENSE_CLAIM = "expense_claim", "Expense claim"
        ADJUSTMENT = "adjustment", "Payment adjustment"

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="lines")
    source_ref = models.CharField(max_length=64)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    portal_ref = models.CharField(max_length=64, blank=True)
    portal_line_id = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(null=True, blank=True)
    service_user_ref = models.CharField(max_length=32, blank=True)
    description = models.CharField(max_length=300, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    rate = models.DecimalField(max_digits=10, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__isnull=True)
                | Q(period_start__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="remittance_line_period_ordered",
            )
        ]

    def __str__(self) -> str:
        return f"{self.source_ref}: {self.amount}"


class PaymentSchedule(models.Model):
    """What the back office's next payment run will pay a provider so far (copied on a schedule)."""

    provider = models.OneToOneField(Provider, on_delete=models.CASCADE, related_name="payment_schedule")
    next_run_on = models.DateField()
    total = models.DecimalField(max_digits=12, decimal_places=2)
    items = models.JSONField(default=list)
    copied_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.provider.ref}: {self.total} on {self.next_run_on}"


from remittances.models_documents import *  # noqa: E402, F403  (documents made by a worker, issue #8)
from remittances.models_invoices import *  # noqa: E402, F403  (invoices and expense claims, issue #8)
