"""Documents a worker makes on request: a remittance advice's PDF when it is too long to make in the web
request, a foster carer's annual statement (issue #8).

A `DocumentRequest` is the row the page and the worker share: what is wanted (its kind and subject), for
which provider, who asked, how far the worker has got, and the file once it is made. The file is kept
under VAR_DIR/files/documents/ (outside the web root) and served only through the provider's own view; a
beat task removes it when the request expires. Its life (states, progress, expiry) is every background
file's: `portal.documents`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, ClassVar

from django.db import models
from django.db.models import Q

from portal.documents import BackgroundFile, background_constraints, background_indexes
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
        return self.filter(state__in=BackgroundFile.LIVE_STATES)


class DocumentRequest(BackgroundFile):
    """One document asked for, made by a worker, downloadable until it expires (the life every background
    file has: `portal.documents.BackgroundFile`)."""

    class Kind(models.TextChoices):
        REMITTANCE_PDF = "remittance_pdf", "Remittance advice (PDF)"
        ANNUAL_STATEMENT_PDF = "annual_statement_pdf", "Annual statement (PDF)"

    files_folder = "documents"
    make_task = "remittances.tasks.document_make_task"
    # How long a document stays downloadable once made (or a request waits, if never made): a remittance's
    # PDF is made again in seconds; a year's statement, made by itself when the year closes, is kept a month.
    LIFETIMES: ClassVar[dict[str, dt.timedelta]] = {
        Kind.REMITTANCE_PDF: dt.timedelta(hours=24),
        Kind.ANNUAL_STATEMENT_PDF: dt.timedelta(days=30),
    }

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
    pages = models.PositiveIntegerField(null=True, blank=True)

    objects = DocumentRequestQuerySet.as_manager()

    class Meta(BackgroundFile.Meta):
        constraints = [
            *background_constraints("document_request", live_once=["provider", "kind", "subject_key"]),
            models.CheckConstraint(
                condition=Q(kind="remittance_pdf", remittance__isnull=False)
                | Q(kind="annual_statement_pdf", financial_year__isnull=False),
                name="document_request_subject_given",
            ),
        ]
        indexes = background_indexes("document_request")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.subject_key} for {self.provider_id}: {self.state}"

    def lifetime(self) -> dt.timedelta:
        return self.LIFETIMES[self.kind]
