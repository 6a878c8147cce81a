"""Documents made by a worker (DESIGN.md, "Long work"): asked for on a page, made by a Celery task with its
progress on the row, downloaded from the provider's own page until they expire.

The life of the row (asking once, claiming, progress, taking over a silent run, failing, expiry, the sweep)
is every background file's: `portal.documents` (reports' files live it too). What is particular here:

- **Asking** (`document_request`): one live document per provider, kind and subject (the remittance's ref,
  or the year); a remittance of another provider is refused.
- **Making** (`document_make`): the maker of the document's kind (`MAKERS`), with the progress following
  the pages WeasyPrint lays out.
- **Outdated statements** (`statements_outdated`): a new payment in a year removes that year's statement.

A new kind of document is a `DocumentRequest.Kind`, its lifetime in `DocumentRequest.LIFETIMES` and a maker
in `MAKERS` (the annual statement reuses all of this).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from portal import documents as background
from portal.documents import Made, Progress, SweepResult
from portal.providers.models import Provider
from remittances.models import DocumentRequest, Remittance

if TYPE_CHECKING:
    from portal.accounts.models import User

__all__ = [
    "DocumentError",
    "SweepResult",
    "document_file",
    "document_make",
    "document_path",
    "document_request",
    "documents_sweep",
    "statements_outdated",
]

State = DocumentRequest.State
Kind = DocumentRequest.Kind

# A remittance with more lines than this has its PDF made by a worker; a smaller one is made in the request
# (about 3 s at 200 lines on this machine; 1,000 lines take about 14 s).
INLINE_PDF_MAX_LINES = 200
LIFETIMES = DocumentRequest.LIFETIMES
MAX_ATTEMPTS = background.MAX_ATTEMPTS
# Progress is written at most this often while WeasyPrint lays out pages (one UPDATE each).
PROGRESS_EVERY_SECONDS = background.PROGRESS_EVERY_SECONDS


class DocumentError(background.BackgroundFileError):
    """A document cannot be asked for (the message is for the user)."""


# Files -------------------------------------------------------------------------------------------

document_path = background.background_path
document_file = background.background_ready_file
_write = background.write_atomically


# Asking ------------------------------------------------------------------------------------------


def _subject(*, kind: str, remittance: Remittance | None, financial_year: int | None) -> str:
    if kind == Kind.REMITTANCE_PDF:
        if remittance is None:
            raise DocumentError("A remittance's PDF needs the remittance.")
        return remittance.ref
    if financial_year is None:
        raise DocumentError("An annual statement needs its year.")
    return str(financial_year)


def document_request(
    *,
    provider: Provider,
    kind: str,
    by: User | None,
    file_name: str,
    remittance: Remittance | None = None,
    financial_year: int | None = None,
) -> DocumentRequest:
    """Ask for a document; the live request for the same document if there is one. A worker makes it
    once this commits."""
    if remittance is not None and remittance.provider_id != provider.pk:
        raise DocumentError("No such remittance.")
    subject = _subject(kind=kind, remittance=remittance, financial_year=financial_year)
    return background.background_request(
        model=DocumentRequest,
        live=DocumentRequest.objects.for_provider(provider).live().filter(kind=kind, subject_key=subject),
        fields={
            "provider": provider,
            "kind": kind,
            "subject_key": subject,
            "remittance": remittance,
            "financial_year": financial_year,
            "requested_by": by,
            "file_name": file_name,
        },
        actor=by,
        audit_action="remittances.document.requested",
        audit_data={"kind": kind, "subject": subject},
    )


# Making ------------------------------------------------------------------------------------------


def _make_remittance_pdf(document: DocumentRequest, progress: Progress) -> tuple[bytes, int]:
    from remittances.pdf import remittance_pdf

    assert document.remittance_id is not None
    remittance = Remittance.objects.select_related("provider").get(pk=document.remittance_id)
    return remittance_pdf(remittance=remittance, progress=progress)


def _make_annual_statement(document: DocumentRequest, progress: Progress) -> tuple[bytes, int]:
    from remittances.statements import annual_statement_pdf

    assert document.financial_year is not None
    return annual_statement_pdf(
        provider=document.provider, financial_year=document.financial_year, progress=progress
    )


MAKERS: dict[str, Callable[[DocumentRequest, Progress], tuple[bytes, int]]] = {
    Kind.REMITTANCE_PDF: _make_remittance_pdf,
    Kind.ANNUAL_STATEMENT_PDF: _make_annual_statement,
}


def _reporter(claim: background.Claim) -> Progress:
    return background.progress_reporter(DocumentRequest, claim, every_seconds=PROGRESS_EVERY_SECONDS)


def _expected_pages(document: DocumentRequest) -> int:
    """About 25 lines a page, for the progress shown while the pages are laid out."""
    if document.remittance_id:
        return max(1, document.remittance.lines.count() // 25)  # type: ignore[union-attr]
    return 20


def _make(document: DocumentRequest, progress: Progress) -> Made:
    with background.layout_progress(progress, _expected_pages(document)):
        data, pages = MAKERS[document.kind](document, progress)
    return Made(data, {"pages": pages})


def document_make(*, document_id: uuid.UUID | str) -> str:
    """Make the document if it still needs making; a no-op otherwise. Returns its state afterwards."""
    return background.background_make(
        model=DocumentRequest,
        row_id=document_id,
        make=_make,
        reporter=_reporter,
        first_stage="Reading the lines",
        related=("provider", "remittance"),
    )


# Sweeping ----------------------------------------------------------------------------------------


def statements_outdated(*, provider: Provider, paid_on: dt.date) -> int:
    """A remittance paid on `paid_on` has arrived: the provider's annual statement of that financial year,
    if one is made or being made, no longer lists every payment. It is removed now (in the caller's
    transaction), so the next request makes it again; returns how many were removed."""
    from remittances.advice import financial_year_of

    year = str(financial_year_of(paid_on))
    outdated = (
        DocumentRequest.objects.for_provider(provider)
        .live()
        .select_for_update(of=("self",))
        .filter(kind=DocumentRequest.Kind.ANNUAL_STATEMENT_PDF, subject_key=year)
    )
    count = 0
    for document in outdated:
        background.background_expire(document)
        count += 1
    return count


def documents_sweep(*, limit: int = 500) -> SweepResult:
    """Remove the files of documents past their time; queue again those a lost task or a dead worker left."""
    return background.background_sweep(model=DocumentRequest, limit=limit)
