"""Report files made by a worker: a report request is the row the page and the worker share.

What is wanted (a report of `reports.definitions.REPORTS`, its filters and format), whose it is (the
requester; for a provider report also the provider, whose users may all download it), how far the worker
has got, and the file once it is made, kept under VAR_DIR/files/reports/ (outside the web root) until it
expires; a beat task removes expired files. The moves between states are `reports.services.TRANSITIONS`.
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


class ReportRequestQuerySet(models.QuerySet["ReportRequest"]):
    def for_requester(self, user: User) -> ReportRequestQuerySet:
        """A council report's files: only the one who asked for them (anyone else: a 404)."""
        if not user.is_council_staff:
            return self.none()
        return self.filter(requested_by=user, provider__isnull=True)

    def for_provider(self, provider: Provider) -> ReportRequestQuerySet:
        """A provider report's files: every user acting for that provider, nobody else."""
        return self.filter(provider=provider)

    def all_for_workers(self) -> ReportRequestQuerySet:
        return self.all()

    def live(self) -> ReportRequestQuerySet:
        return self.filter(state__in=ReportRequest.LIVE_STATES)


class ReportRequest(models.Model):
    """One report file asked for, made by a worker, downloadable until it expires."""

    class Format(models.TextChoices):
        XLSX = "xlsx", "Excel"
        PDF = "pdf", "PDF"

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not be made"
        EXPIRED = "expired", "Removed"

    LIVE_STATES = (State.QUEUED, State.RUNNING, State.READY)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.CharField(max_length=32, help_text="The report's key in reports.definitions.")
    format = models.CharField(max_length=4, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True, help_text="The filters as the form took them.")
    filters_text = models.CharField(max_length=500, blank=True, help_text="The filters, in words.")
    owner = models.CharField(
        max_length=40,
        help_text="Whose file it is, as one key ('user:<id>' or 'provider:<id>'): the same report asked "
        "for again while it is live reuses it.",
    )
    key = models.CharField(max_length=64, help_text="A digest of the report, its format and its filters.")
    provider = models.ForeignKey(
        Provider,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_requests",
        help_text="A provider report's provider; empty for a council report.",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done, as the worker said.")
    stage = models.CharField(max_length=200, blank=True, help_text="What the worker is doing now.")
    file_name = models.CharField(max_length=120)
    size = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0, help_text="Rows in the file's tables.")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why it could not be made (for staff).")
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(help_text="The file is removed then (reports_sweep).")

    objects = ReportRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["queued", "running", "ready", "failed", "expired"]),
                name="report_request_state_valid",
            ),
            models.CheckConstraint(condition=Q(format__in=["xlsx", "pdf"]), name="report_request_format"),
            models.CheckConstraint(condition=Q(progress__lte=100), name="report_request_progress_percent"),
            # One live file per owner and report: asking again while it is made (or ready) reuses it.
            models.UniqueConstraint(
                fields=["owner", "key"],
                condition=Q(state__in=["queued", "running", "ready"]),
                name="report_request_live_once",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "expires_at"], name="report_request_by_state"),
            models.Index(fields=["owner", "-created_at"], name="report_request_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.report} ({self.format}) for {self.owner}: {self.state}"

    @property
    def is_ready(self) -> bool:
        return self.state == self.State.READY

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
