"""Documents made by a worker (DESIGN.md, "Long work"): asked for on a page, made by a Celery task with its
progress on the row, downloaded from the provider's own page until they expire.

    queued ──worker claims──▶ running ──made──▶ ready ──expires──▶ expired (file removed)
      │                         │  └──error──▶ failed ──expires──▶ expired
      └──── silent too long (a killed worker): the sweep queues it again, at most MAX_ATTEMPTS runs

- **Asking** (`document_request`) reuses the live request for the same document (one per provider, kind
  and subject: a partial unique constraint), so a double click or two colleagues start one run, not two.
  The task is queued when the request commits (robust: a broker that is down does not fail the page; the
  sweep queues it later).
- **Making** (`document_make`, the task's one call) is idempotent: it claims the row (locked only while it
  claims), makes the file with its progress written as it goes, and finishes only if its claim still
  stands, so a second run of the same task finds it ready and does nothing, and a run taken over after
  going silent cannot overwrite the one that took over. The file goes to VAR_DIR/files/documents/<id>
  (written to a temporary name and moved into place: a reader never sees half a file).
- **Sweeping** (`documents_sweep`, beat): removes the files of expired requests and re-drives requests a
  lost task or a killed worker left waiting.

A new kind of document is a `DocumentRequest.Kind` and a maker in `MAKERS` (the annual statement reuses all
of this).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q

from portal import clock
from portal.audit.services import audit_record
from portal.providers.models import Provider
from remittances.models import DocumentRequest, Remittance

if TYPE_CHECKING:
    from portal.accounts.models import User

logger = logging.getLogger(__name__)

State = DocumentRequest.State
Kind = DocumentRequest.Kind

# A remittance with more lines than this has its PDF made by a worker; a smaller one is made in the request
# (about 3 s at 200 lines on this machine; 1,000 lines take about 14 s).
INLINE_PDF_MAX_LINES = 200
# How long a document stays downloadable once made (or a request waits, if never made): a remittance's
# PDF is made again in seconds; a year's statement, made by itself when the year closes, is kept a month.
LIFETIMES: dict[str, dt.timedelta] = {
    Kind.REMITTANCE_PDF: dt.timedelta(hours=24),
    Kind.ANNUAL_STATEMENT_PDF: dt.timedelta(days=30),
}
# A running document whose worker has said nothing for this long is taken over (the worker died).
SILENT_AFTER = dt.timedelta(minutes=10)
# A queued document still waiting after this long lost its task: the sweep queues it again.
REQUEUE_AFTER = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 3
FOLDER = "documents"
# Progress is written at most this often while WeasyPrint lays out pages (one UPDATE each).
PROGRESS_EVERY_SECONDS = 1.0

TRANSITIONS: dict[str, set[str]] = {
    State.QUEUED: {State.RUNNING, State.EXPIRED},
    State.RUNNING: {State.READY, State.FAILED, State.QUEUED, State.EXPIRED},
    State.READY: {State.EXPIRED},
    State.FAILED: {State.EXPIRED},
    State.EXPIRED: set(),
}


class DocumentError(Exception):
    """A document cannot be asked for (the message is for the user)."""


def _move(document: DocumentRequest, to: str) -> None:
    if to not in TRANSITIONS[document.state]:
        raise DocumentError(f"A document {document.get_state_display().lower()} cannot become {to}.")
    document.state = to


# Files -------------------------------------------------------------------------------------------


def document_path(document: DocumentRequest) -> Path:
    """Where the file is: VAR_DIR/files/documents/<the request's id as 32 hex digits>."""
    name = document.pk.hex
    if not re.fullmatch(r"[0-9a-f]{32}", name):
        raise FileNotFoundError(name)
    return Path(settings.VAR_DIR) / "files" / FOLDER / name


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)  # atomic: a download sees the whole file or none


def document_file(document: DocumentRequest) -> Path | None:
    """The ready document's file, or None (not ready, expired, or gone from disk)."""
    if document.state != State.READY or document.expires_at <= clock.now():
        return None
    path = document_path(document)
    return path if path.is_file() else None


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
    live = DocumentRequest.objects.for_provider(provider).live().filter(kind=kind, subject_key=subject)
    existing = live.first()
    if existing is not None and existing.expires_at > clock.now():
        return existing
    now = clock.now()
    with transaction.atomic():
        if existing is not None:  # past its time, not swept yet: expire it now so a new one can start
            _expire(existing)
        try:
            with transaction.atomic():
                document = DocumentRequest.objects.create(
                    provider=provider,
                    kind=kind,
                    subject_key=subject,
                    remittance=remittance,
                    financial_year=financial_year,
                    requested_by=by,
                    file_name=file_name,
                    stage="Waiting for a worker",
                    created_at=now,
                    expires_at=now + LIFETIMES[kind],
                )
        except IntegrityError:  # a colleague asked at the same moment: theirs is the one
            found = live.first()
            if found is None:
                raise
            return found
        audit_record(
            action="remittances.document.requested",
            actor=by,
            obj=document,
            provider=provider,
            data={"kind": kind, "subject": subject},
        )
        _queue_on_commit(document)
    return document


def _queue_on_commit(document: DocumentRequest) -> None:
    from remittances.tasks import document_make_task

    document_id = str(document.pk)
    # Robust: the request has committed; a broker that is down must not fail the page (the sweep re-drives).
    transaction.on_commit(lambda: document_make_task.delay(document_id), robust=True)


# Making ------------------------------------------------------------------------------------------

Progress = Callable[[int, str], None]
Maker = Callable[[DocumentRequest, Progress], tuple[bytes, int]]


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


MAKERS: dict[str, Maker] = {
    Kind.REMITTANCE_PDF: _make_remittance_pdf,
    Kind.ANNUAL_STATEMENT_PDF: _make_annual_statement,
}


@dataclass(frozen=True)
class _Claim:
    document_id: uuid.UUID
    attempt: int


def _claim(document_id: uuid.UUID | str) -> tuple[DocumentRequest | None, str]:
    """Take the document for this run, or say why not (its state, or "running" when another run has it)."""
    with transaction.atomic():
        document = (
            DocumentRequest.objects.all_providers_for_workers()
            .select_for_update(of=("self",))
            .select_related("provider")
            .filter(pk=document_id)
            .first()
        )
        if document is None:
            return None, "missing"
        now = clock.now()
        if document.state in (State.READY, State.FAILED, State.EXPIRED):
            return None, document.state
        if document.expires_at <= now:
            _expire(document)
            return None, State.EXPIRED
        if document.state == State.RUNNING:
            if document.heartbeat_at and now - document.heartbeat_at < SILENT_AFTER:
                return None, "running"  # another run is on it
            logger.warning("document %s: its run went silent; taking it over", document.pk)
            _move(document, State.QUEUED)
        if document.attempts >= MAX_ATTEMPTS:
            _move(document, State.RUNNING)
            _fail(document, f"gave up after {document.attempts} attempts")
            return None, State.FAILED
        _move(document, State.RUNNING)
        document.attempts += 1
        document.started_at = document.heartbeat_at = now
        document.progress, document.stage = 5, "Reading the lines"
        document.save(update_fields=["state", "attempts", "started_at", "heartbeat_at", "progress", "stage"])
    return document, State.RUNNING


def _fail(document: DocumentRequest, error: str) -> None:
    now = clock.now()
    _move(document, State.FAILED)
    document.error = error[:2000]
    document.stage = "Could not be made"
    document.finished_at = now
    document.expires_at = now + LIFETIMES[document.kind]
    document.save(update_fields=["state", "error", "stage", "finished_at", "expires_at"])


def _reporter(claim: _Claim) -> Progress:
    last = [0.0]

    def report(percent: int, stage: str) -> None:
        now = time.monotonic()
        if percent < 100 and now - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = now
        DocumentRequest.objects.filter(
            pk=claim.document_id, state=State.RUNNING, attempts=claim.attempt
        ).update(progress=min(max(percent, 0), 99), stage=stage[:200], heartbeat_at=clock.now())

    return report


class _LayoutProgress(logging.Handler):
    """WeasyPrint says on its `weasyprint.progress` logger as it lays out each page; that is the long part
    of a big document, so the page's progress follows it (against an estimate of the pages to come)."""

    def __init__(self, report: Progress, expected_pages: int) -> None:
        super().__init__(level=logging.INFO)
        self.report = report
        self.expected = max(1, expected_pages)

    def emit(self, record: logging.LogRecord) -> None:
        match = re.search(r"Creating layout - Page (\d+)", record.getMessage())
        if match:
            page = int(match.group(1))
            share = min(1.0, page / self.expected)
            self.report(25 + int(50 * share), f"Laying out page {page}")


@contextlib.contextmanager
def _layout_progress(report: Progress, expected_pages: int) -> Iterator[None]:
    progress_logger = logging.getLogger("weasyprint.progress")
    handler = _LayoutProgress(report, expected_pages)
    progress_logger.addHandler(handler)
    try:
        yield
    finally:
        progress_logger.removeHandler(handler)


def _expected_pages(document: DocumentRequest) -> int:
    """About 25 lines a page, for the progress shown while the pages are laid out."""
    if document.remittance_id:
        return max(1, document.remittance.lines.count() // 25)  # type: ignore[union-attr]
    return 20


def document_make(*, document_id: uuid.UUID | str) -> str:
    """Make the document if it still needs making; a no-op otherwise. Returns its state afterwards."""
    document, outcome = _claim(document_id)
    if document is None:
        return outcome
    claim = _Claim(document.pk, document.attempts)
    report = _reporter(claim)
    try:
        with _layout_progress(report, _expected_pages(document)):
            data, pages = MAKERS[document.kind](document, report)
    except OperationalError:
        raise  # the database went away: the task retries; the claim goes silent and is taken over
    except Exception as error:
        logger.exception("document %s could not be made", document.pk)
        with transaction.atomic():
            mine = _locked_if_still_mine(claim)
            if mine is not None:
                _fail(mine, f"{type(error).__name__}: {error}")
        return State.FAILED
    _write(document_path(document), data)
    with transaction.atomic():
        mine = _locked_if_still_mine(claim)
        if mine is None:
            return "taken over"  # another run owns it now; the file it writes is the same document
        now = clock.now()
        _move(mine, State.READY)
        mine.progress, mine.stage = 100, "Ready"
        mine.size, mine.pages = len(data), pages
        mine.finished_at = mine.heartbeat_at = now
        mine.expires_at = now + LIFETIMES[mine.kind]
        mine.save(
            update_fields=[
                "state",
                "progress",
                "stage",
                "size",
                "pages",
                "finished_at",
                "heartbeat_at",
                "expires_at",
            ]
        )
    return State.READY


def _locked_if_still_mine(claim: _Claim) -> DocumentRequest | None:
    return (
        DocumentRequest.objects.all_providers_for_workers()
        .select_for_update(of=("self",))
        .filter(pk=claim.document_id, state=State.RUNNING, attempts=claim.attempt)
        .first()
    )


# Sweeping ----------------------------------------------------------------------------------------


def _expire(document: DocumentRequest) -> None:
    _move(document, State.EXPIRED)
    with contextlib.suppress(FileNotFoundError):
        document_path(document).unlink()
    document.size = 0
    document.stage = "Removed"
    document.save(update_fields=["state", "size", "stage"])


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
        _expire(document)
        count += 1
    return count


@dataclass(frozen=True)
class SweepResult:
    expired: int
    requeued: int


def documents_sweep(*, limit: int = 500) -> SweepResult:
    """Remove the files of documents past their time; queue again those a lost task or a dead worker left."""
    now = clock.now()
    expired = 0
    due = list(
        DocumentRequest.objects.all_providers_for_workers()
        .exclude(state=State.EXPIRED)
        .filter(expires_at__lte=now)
        .values_list("pk", flat=True)[:limit]
    )
    for document_id in due:
        with transaction.atomic():
            document = (
                DocumentRequest.objects.all_providers_for_workers()
                .select_for_update(of=("self",))
                .filter(pk=document_id, expires_at__lte=now)
                .exclude(state=State.EXPIRED)
                .first()
            )
            if document is not None:
                _expire(document)
                expired += 1
    stuck = list(
        DocumentRequest.objects.all_providers_for_workers()
        .filter(_stuck(now), expires_at__gt=now)
        .values_list("pk", flat=True)[:limit]
    )
    from remittances.tasks import document_make_task

    for document_id in stuck:
        document_make_task.delay(str(document_id))
    if expired or stuck:
        logger.info("documents: %d expired, %d queued again", expired, len(stuck))
    return SweepResult(expired=expired, requeued=len(stuck))


def _stuck(now: dt.datetime) -> Q:
    """Waiting longer than a task takes to arrive, or running with a worker silent too long."""
    return Q(state=State.QUEUED, created_at__lte=now - REQUEUE_AFTER) | Q(
        state=State.RUNNING, heartbeat_at__lte=now - SILENT_AFTER
    )
