"""Documents a worker makes on request: a remittance advice's PDF when it is too long to make in the web
request, a foster carer's annual statement (issue #8).

A `DocumentRequest` is the row the page and the worker share: what is wanted (its kind and subject), for
which provider, who asked, how far the worker has got, and the file once it is made. The file is kept
under VAR_DIR/files/documents/ (outside the web root) and served only through the provider's own view; a
beat task removes it when the request expires. The moves between states are in
`remittances/documents.py` (`TRANSITIONS`).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.providers.models import Provider

if TYPE_CHECKING:
    from portal.accounts.models import User

__all__ = ["DocumentRequest"]


class DocumentRequestQuerySet(models.QuerySet["DocumentRequest"]):
    def for_provider(self, provider: Provider) -> DocumentRequestQuerySet:
        """The provider's own documents; another provider's is not there (a 404)."""
        return self.filter(provider=provider)

    def for_staff(self, user: User) -> DocumentRequestQuerySet:
        """Council staff see every provider's remittances, so their documents too (their views also
        declare VIEW_ALL_REMITTANCES)."""
        return self.all() if user.is_council_staff else self.none()

    def all_providers_for_workers(self) -> DocumentRequestQuerySet:
        return self.all()

    def live(self) -> DocumentRequestQuerySet:
        """Waiting, being made or ready: a new request for the same document reuses it."""
        return self.filter(state__in=DocumentRequest.LIVE_STATES)


class DocumentRequest(models.Model):
    """One document asked for, made by a worker, downloadable until it expires."""

    class Kind(models.TextChoices):
        REMITTANCE_PDF = "remittance_pdf", "Remittance advice (PDF)"
        ANNUAL_STATEMENT_PDF = "annual_statement_pdf", "Annual statement (PDF)"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not be made"
        EXPIRED = "expired", "Removed"

    LIVE_STATES = (State.QUEUED, State.RUNNING, State.READY)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="document_requests")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    subject_key = models.CharField(
        max_length=64, help_text="What the document is of, as one key: the remittance's ref, or the year."
    )
    remittance = models.ForeignKey(
        "remittances.Remittance",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="document_requests",
    )
    financial_year = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="An annual statement's year: the one starting on 1 April of it."
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the portal made it by itself (a year's statement when the year closes).",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done, as the worker said.")
    stage = models.CharField(max_length=200, blank=True, help_text="What the worker is doing now.")
    file_name = models.CharField(max_length=120, help_text="The name the download is offered under.")
    size = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(
        blank=True, help_text="Why it could not be made (for staff; the page says less)."
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="The worker's last word: a run silent for long is taken over."
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="The file is removed then (documents_sweep).")

    objects = DocumentRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["queued", "running", "ready", "failed", "expired"]),
                name="document_request_state_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="remittance_pdf", remittance__isnull=False)
                | Q(kind="annual_statement_pdf", financial_year__isnull=False),
                name="document_request_subject_given",
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="document_request_progress_percent"),
            # One live request per document: asking again while it is made (or ready) reuses it.
            models.UniqueConstraint(
                fields=["provider", "kind", "subject_key"],
                condition=Q(state__in=["queued", "running", "ready"]),
                name="document_request_live_once",
            ),
        ]
        indexes = [models.Index(fields=["state", "expires_at"], name="document_request_by_state")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_key} for {self.provider_id}: {self.state}"

    @property
    def is_ready(self) -> bool:
        return self.state == self.State.READY

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
