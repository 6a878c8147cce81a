"""Report files made by a worker: a report request is the row the page and the worker share.

What is wanted (a report of `reports.definitions.REPORTS`, its filters and format), whose it is (the
requester; for a provider report also the provider, whose users may all download it), and the rest of
every background file's life (how far the worker has got, the file once made under
VAR_DIR/files/reports/, outside the web root, until it expires): `portal.documents.BackgroundFile`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.documents import BackgroundFile, background_constraints, background_indexes
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
        return self.filter(state__in=BackgroundFile.LIVE_STATES)


class ReportRequest(BackgroundFile):
    """One report file asked for, made by a worker, downloadable until it expires."""

    class Format(models.TextChoices):
        XLSX = "xlsx", "Excel"
        PDF = "pdf", "PDF"

    files_folder = "reports"
    make_task = "reports.tasks.report_make_task"

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
    rows = models.PositiveIntegerField(default=0, help_text="Rows in the file's tables.")

    objects = ReportRequestQuerySet.as_manager()

    class Meta(BackgroundFile.Meta):
        constraints = [
            *background_constraints("report_request", live_once=["owner", "key"]),
            models.CheckConstraint(condition=Q(format__in=["xlsx", "pdf"]), name="report_request_format"),
        ]
        indexes = [
            *background_indexes("report_request"),
            models.Index(fields=["owner", "-created_at"], name="report_request_owner"),
        ]

    def __str__(self) -> str:
        return f"{self.report} ({self.format}) for {self.owner}: {self.state}"

    def lifetime(self) -> dt.timedelta:
        return dt.timedelta(hours=settings.REPORT_FILES_HOURS)
