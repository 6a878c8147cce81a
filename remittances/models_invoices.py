"""Invoices (children's agencies) and expense claims (foster carers): what a provider sends the back office
about a child, and the back office's word on each (issue #8).

An **invoice** is for one child's placement paid on invoice (a care package line whose service type is
paid on invoice) and one period; a provider raises it with a wizard whose answers are kept in an
`InvoiceDraft` until it is submitted. An **expense claim** is a foster carer's one-off claim (mileage,
equipment, activities, …) with a receipt, optionally about a child. Both go to the back office through the
outbox and come back accepted, rejected (with the reason) and paid, by its submission events. The rules
and the moves between states are in `remittances/services_invoices.py`.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from portal.providers.models import CarePackageLine, Provider, ServiceUser

if TYPE_CHECKING:
    from portal.accounts.models import User

__all__ = ["ExpenseClaim", "Invoice", "InvoiceDraft", "InvoiceLine", "SubmissionStatus"]


class SubmissionStatus(models.TextChoices):
    """Where an invoice or an expense claim is: sent (in the outbox or delivered, no word yet), then the
    back office's word on it."""

    SENT = "sent", "Sent to the council"
    RECEIVED = "received", "Received"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    PAID = "paid", "Paid"


_STATUS_VALID = Q(status__in=SubmissionStatus.values)


_M = TypeVar("_M", bound=models.Model)


class ProviderScopedQuerySet(models.QuerySet[_M]):
    def for_provider(self, provider: Provider) -> ProviderScopedQuerySet[_M]:
        """The provider's own rows; another provider's is simply not there (a 404)."""
        return self.filter(provider=provider)

    def for_staff(self, user: User) -> ProviderScopedQuerySet[_M]:
        """Every provider's rows, for council staff; nothing for anyone else."""
        return self.all() if user.is_council_staff else self.none()

    def all_providers_for_sync(self) -> ProviderScopedQuerySet[_M]:
        """Every row, for workers applying the back office's decisions."""
        return self.all()


class InvoiceDraft(models.Model):
    """The answers of an invoice wizard so far, kept between its pages (nothing is lost on a bad answer,
    and no JavaScript is needed). Deleted when the invoice is submitted. Lines are description and
    quantity only: the rate is always the care package line's, read when the invoice is checked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="invoice_drafts")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    care_package_line = models.ForeignKey(
        CarePackageLine, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    provider_invoice_number = models.CharField(max_length=30, blank=True)
    lines = models.JSONField(default=list, blank=True)  # [{"description": str, "quantity": "1.50"}]
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    objects = ProviderScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["provider", "created_by"], name="invoice_draft_owner")]

    def __str__(self) -> str:
        return f"Draft invoice {self.pk}"


class Invoice(models.Model):
    """An invoice for one child's placement and one period, as submitted (never edited afterwards: only
    its status moves). One invoice per child, so a query on one child holds up no other."""

    portal_ref = models.CharField("portal reference", max_length=32, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="invoices")
    service_user = models.ForeignKey(ServiceUser, on_delete=models.PROTECT, related_name="invoices")
    care_package_line = models.ForeignKey(CarePackageLine, on_delete=models.PROTECT, related_name="invoices")
    period_start = models.DateField()
    period_end = models.DateField()
    provider_invoice_number = models.CharField("your invoice number", max_length=30)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.SENT)
    reason = models.TextField(blank=True, help_text="The back office's reason, when it rejected it.")
    backoffice_ref = models.CharField("council reference", max_length=32, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects = ProviderScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                F("provider"), Lower("provider_invoice_number"), name="invoice_number_unique_per_provider"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="invoice_period_ordered"
            ),
            models.CheckConstraint(condition=Q(total__gt=0), name="invoice_total_positive"),
            models.CheckConstraint(condition=_STATUS_VALID, name="invoice_status_valid"),
        ]
        indexes = [
            models.Index(fields=["provider", "-submitted_at"], name="invoice_provider_recent"),
            models.Index(fields=["service_user", "period_start"], name="invoice_child_period"),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.provider_invoice_number} ({self.portal_ref})"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=200)
    quantity = models.DecimalField(max_digits=10, decimal_places=2)
    rate = models.DecimalField(max_digits=10, decimal_places=2)
    amount = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="invoice_line_quantity_positive"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="invoice_line_rate_positive"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class ExpenseClaim(models.Model):
    """A foster carer's one-off claim, with its receipt kept outside the web root under a random name."""

    class Category(models.TextChoices):
        # The back office's categories (its limits are per category; anything else is "other").
        MILEAGE = "mileage", "Mileage"
        EQUIPMENT = "equipment", "Equipment"
        ACTIVITIES = "activities", "Activities"
        CLOTHING = "clothing", "Clothing"
        OTHER = "other", "Other"

    portal_ref = models.CharField("portal reference", max_length=32, unique=True)
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="expense_claims")
    service_user = models.ForeignKey(
        ServiceUser, null=True, blank=True, on_delete=models.PROTECT, related_name="expense_claims"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    incurred_on = models.DateField("date of the expense")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    description = models.TextField()
    receipt_name = models.CharField(max_length=120, blank=True, help_text="The file's name, cleaned.")
    receipt_stored_as = models.CharField(max_length=32, blank=True)
    receipt_content_type = models.CharField(max_length=100, blank=True)
    receipt_size = models.PositiveIntegerField(default=0)
    receipt_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=SubmissionStatus.choices, default=SubmissionStatus.SENT)
    reason = models.TextField(blank=True, help_text="The back office's reason, when it rejected it.")
    backoffice_ref = models.CharField("council reference", max_length=32, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField()
    status_changed_at = models.DateTimeField(null=True, blank=True)

    objects = ProviderScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="expense_claim_amount_positive"),
            models.CheckConstraint(condition=_STATUS_VALID, name="expense_claim_status_valid"),
            models.CheckConstraint(
                condition=Q(category__in=["mileage", "equipment", "activities", "clothing", "other"]),
                name="expense_claim_category_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["provider", "-submitted_at"], name="expense_provider_recent"),
            models.Index(fields=["service_user"], name="expense_child"),
        ]

    def __str__(self) -> str:
        return f"Expense claim {self.portal_ref}"
