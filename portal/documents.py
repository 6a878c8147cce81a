"""Files a worker makes on request (DESIGN.md, "Long work"): one implementation for every kind of them.

A remittance's long PDF and an annual statement (`remittances.DocumentRequest`) and a large report's
Excel or PDF file (`reports.ReportRequest`) live the same life; each concrete model subclasses
`BackgroundFile` (its table keeps what is particular to it: what is wanted, whose it is) and its service
module calls the functions here for the rest:

    queued ──worker claims──▶ running ──made──▶ ready ──expires──▶ expired (file removed)
      │                         │  └──error──▶ failed ──expires──▶ expired
      └──── lost task, or silent too long (a killed worker): the sweep queues it again; after
            MAX_ATTEMPTS runs the next claim fails it, so the page says so rather than "being made"

- **Asking** (`background_request`) reuses the live row for the same file (each model's partial unique
  constraint, `background_constraints`), so a double click or two colleagues start one run, not two. The
  task is queued when the row commits (robust: a broker that is down does not fail the page; the sweep
  queues it later).
- **Making** (`background_make`, the task's one call) is idempotent: it claims the row (locked only while
  it claims, so the page can read the progress), makes the file with its progress written as it goes, and
  finishes only if its claim (the attempt number) still stands, so a second run of the task finds it ready
  and does nothing and a run taken over after going silent cannot overwrite the one that took over. Only
  the database going away is left to Celery to retry; any other error fails the row with the error kept
  for staff. The file goes to VAR_DIR/files/<folder>/<id> (written to a temporary name and moved into
  place: a reader never sees half a file).
- **Sweeping** (`background_sweep`, beat): removes the files of expired rows (the row stays, as the record
  of who asked for what) and queues again rows a lost task or a killed worker left waiting.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.conf import settings
from django.db import IntegrityError, OperationalError, models, transaction
from django.db.models import Q, QuerySet
from django.http.response import HttpResponseBase
from django.utils.module_loading import import_string

from portal import clock
from portal.audit.services import audit_record

if TYPE_CHECKING:
    from portal.accounts.models import User

logger = logging.getLogger(__name__)

# A running file whose worker has said nothing for this long is taken over (the worker died).
SILENT_AFTER = dt.timedelta(minutes=10)
# A queued file still waiting after this long lost its task: the sweep queues it again.
REQUEUE_AFTER = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 3
# Progress is written at most this often while a file is made (one UPDATE each).
PROGRESS_EVERY_SECONDS = 1.0
# The options of every "make one file" Celery task: late acknowledgement (a killed worker's task is
# delivered again), and retries only when the database went away, bounded, with backoff and jitter.
MAKE_TASK_OPTIONS: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}

Progress = Callable[[int, str], None]


class BackgroundFileError(Exception):
    """A file cannot be asked for or cannot move so (the message is for the user)."""


class BackgroundFile(models.Model):
    """What every file a worker makes on request records: its state, the worker's progress, the file once
    made and when it goes. A concrete model adds what is wanted and whose it is, sets `files_folder` and
    `make_task`, and says how long its files live (`lifetime`)."""

    class State(models.TextChoices):
        QUEUED = "queued", "Waiting to start"
        RUNNING = "running", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not be made"
        EXPIRED = "expired", "Removed"

    LIVE_STATES = (State.QUEUED, State.RUNNING, State.READY)
    # VAR_DIR/files/<files_folder>/: outside the web root, shared by the web and the workers.
    files_folder: ClassVar[str] = ""
    # The dotted name of the Celery task that makes one file (called with the row's id as text).
    make_task: ClassVar[str] = ""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who asked for it; empty when the portal asked by itself or the login was removed.",
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Per cent done, as the worker said.")
    stage = models.CharField(max_length=200, blank=True, help_text="What the worker is doing now.")
    file_name = models.CharField(max_length=120, help_text="The name the download is offered under.")
    size = models.PositiveIntegerField(default=0)
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
    expires_at = models.DateTimeField(help_text="The file is removed then (by the beat's sweep).")

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    def lifetime(self) -> dt.timedelta:
        """How long the file stays downloadable once made (or the request waits, if never made)."""
        raise NotImplementedError

    @property
    def is_expired(self) -> bool:
        """Removed, or past its time (the sweep may not have come by yet: it is not served either way)."""
        return self.state == self.State.EXPIRED or self.expires_at <= clock.now()

    @property
    def is_ready(self) -> bool:
        """Made and still downloadable."""
        return self.state == self.State.READY and not self.is_expired

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)

    @property
    def shown_state(self) -> str:
        """The state as pages show it: a made (or failed) file past its time is removed, swept or not."""
        if self.state in (self.State.READY, self.State.FAILED) and self.expires_at <= clock.now():
            return self.State.EXPIRED
        return self.state

    def get_shown_state_display(self) -> str:
        return str(self.State(self.shown_state).label)


F = TypeVar("F", bound=BackgroundFile)
R = TypeVar("R", bound=HttpResponseBase)


def background_constraints(prefix: str, *, live_once: Sequence[str]) -> list[models.BaseConstraint]:
    """The checks every background file's table has, named after its table (`prefix`): a known state,
    progress in per cent, and one live row (waiting, being made or ready) for the same `live_once` fields,
    so that asking again reuses it."""
    return [
        models.CheckConstraint(
            condition=Q(state__in=["queued", "running", "ready", "failed", "expired"]),
            name=f"{prefix}_state_valid",
        ),
        models.CheckConstraint(condition=Q(progress__lte=100), name=f"{prefix}_progress_percent"),
        models.UniqueConstraint(
            fields=list(live_once),
            condition=Q(state__in=["queued", "running", "ready"]),
            name=f"{prefix}_live_once",
        ),
    ]


def background_indexes(prefix: str) -> list[models.Index]:
    """The sweep's index: rows by state and expiry."""
    return [models.Index(fields=["state", "expires_at"], name=f"{prefix}_by_state")]


State = BackgroundFile.State
TRANSITIONS: dict[str, set[str]] = {
    State.QUEUED: {State.RUNNING, State.EXPIRED},
    State.RUNNING: {State.READY, State.FAILED, State.QUEUED, State.EXPIRED},
    State.READY: {State.EXPIRED},
    State.FAILED: {State.EXPIRED},
    State.EXPIRED: set(),
}


def _move(row: BackgroundFile, to: str) -> None:
    if to not in TRANSITIONS[row.state]:
        raise BackgroundFileError(f"A file {row.get_state_display().lower()} cannot become {to}.")
    row.state = to


def _label(model: type[BackgroundFile]) -> str:
    return str(model._meta.verbose_name)


# Files -------------------------------------------------------------------------------------------

DOWNLOAD_HEADERS = {
    # A file is only ever a download: never sniffed into something a browser runs, never rendered with the
    # portal's origin, never kept by a shared cache.
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "no-store",
}


def download_headers(response: R) -> R:
    for name, value in DOWNLOAD_HEADERS.items():
        response[name] = value
    return response


def background_path(row: BackgroundFile) -> Path:
    """Where the file is: VAR_DIR/files/<folder>/<the row's id as 32 hex digits>, never a name anyone
    typed."""
    name = row.pk.hex
    if not re.fullmatch(r"[0-9a-f]{32}", name) or not row.files_folder:
        raise FileNotFoundError(name)
    return Path(settings.VAR_DIR) / "files" / row.files_folder / name


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)  # atomic: a download sees the whole file or none


def background_ready_file(row: BackgroundFile) -> Path | None:
    """The ready file, or None (not ready, past its time even before the sweep, or gone from disk)."""
    if not row.is_ready:
        return None
    path = background_path(row)
    return path if path.is_file() else None


def background_expire(row: BackgroundFile) -> None:
    """Remove the file; the row stays, as the record of who asked for what (the caller has locked it)."""
    _move(row, State.EXPIRED)
    with contextlib.suppress(FileNotFoundError):
        background_path(row).unlink()
    row.size = 0
    row.stage = "Removed"
    row.save(update_fields=["state", "size", "stage"])


# Asking ------------------------------------------------------------------------------------------


def background_request(
    *,
    model: type[F],
    live: QuerySet[F],
    fields: dict[str, Any],
    actor: User | None,
    audit_action: str,
    audit_data: dict[str, Any],
) -> F:
    """Ask for a file: the live row of `live` (the same file's, one at most) if it has not run out of
    time, else a new row with `fields`, audited, its task queued once this commits."""
    now = clock.now()
    existing = live.first()
    if existing is not None and existing.expires_at > now:
        return existing
    with transaction.atomic():
        if existing is not None:  # past its time, not swept yet: expire it now so a new one can start
            locked = model._default_manager.select_for_update(of=("self",)).filter(pk=existing.pk).first()
            if locked is not None and locked.state in model.LIVE_STATES:
                background_expire(locked)
        row = model(**fields, stage="Waiting for a worker", created_at=now)
        row.expires_at = now + row.lifetime()
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:  # asked for at the same moment by a colleague or a second click
            found = live.first()
            if found is None:
                raise
            return found
        audit_record(
            action=audit_action,
            actor=actor,
            obj=row,
            provider=getattr(row, "provider", None),
            data=audit_data,
        )
        background_queue_on_commit(row)
    return row


def background_queue_on_commit(row: BackgroundFile) -> None:
    task = import_string(row.make_task)
    row_id = str(row.pk)
    # Robust: the row has committed; a broker that is down must not fail the page (the sweep re-drives).
    transaction.on_commit(lambda: task.delay(row_id), robust=True)


# Making ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """One run's hold on a row: it may finish the row only while the row is still at this attempt."""

    row_id: uuid.UUID
    attempt: int


@dataclass(frozen=True)
class Made:
    """A file made: its bytes, and what else to record on the row (pages, rows)."""

    data: bytes
    fields: dict[str, Any] = field(default_factory=dict)


def _claim(
    model: type[F], row_id: uuid.UUID | str, *, first_stage: str, related: Sequence[str]
) -> tuple[F | None, str]:
    """Take the row for this run, or say why not (its state, or "running" when another run has it)."""
    with transaction.atomic():
        row = (
            model._default_manager.select_for_update(of=("self",))
            .select_related(*related)
            .filter(pk=row_id)
            .first()
        )
        if row is None:
            return None, "missing"
        now = clock.now()
        if row.state in (State.READY, State.FAILED, State.EXPIRED):
            return None, row.state
        if row.expires_at <= now:
            background_expire(row)
            return None, State.EXPIRED
        if row.state == State.RUNNING:
            if row.heartbeat_at and now - row.heartbeat_at < SILENT_AFTER:
                return None, "running"  # another run is on it
            logger.warning("%s %s: its run went silent; taking it over", _label(model), row.pk)
            _move(row, State.QUEUED)
        _move(row, State.RUNNING)
        if row.attempts >= MAX_ATTEMPTS:
            background_fail(row, f"gave up after {row.attempts} attempts")
            return None, State.FAILED
        row.attempts += 1
        row.started_at = row.heartbeat_at = now
        row.progress, row.stage = 5, first_stage
        row.save(update_fields=["state", "attempts", "started_at", "heartbeat_at", "progress", "stage"])
    return row, State.RUNNING


def background_fail(row: BackgroundFile, error: str) -> None:
    """The row could not be made: kept (with the error, for staff) until its time is up."""
    now = clock.now()
    _move(row, State.FAILED)
    row.error = error[:2000]
    row.stage = "Could not be made"
    row.finished_at = now
    row.expires_at = now + row.lifetime()
    row.save(update_fields=["state", "error", "stage", "finished_at", "expires_at"])


def progress_reporter(
    model: type[BackgroundFile], claim: Claim, *, every_seconds: float = PROGRESS_EVERY_SECONDS
) -> Progress:
    """A progress callback that writes (percent, stage) on the row while this run still holds it, at most
    once every `every_seconds` (the last word before 100 is always written)."""
    last = [0.0]

    def report(percent: int, stage: str) -> None:
        now = time.monotonic()
        if percent < 100 and now - last[0] < every_seconds:
            return
        last[0] = now
        model._default_manager.filter(pk=claim.row_id, state=State.RUNNING, attempts=claim.attempt).update(
            progress=min(max(percent, 0), 99), stage=stage[:200], heartbeat_at=clock.now()
        )

    return report


class _LayoutProgress(logging.Handler):
    """WeasyPrint says on its `weasyprint.progress` logger as it lays out each page; that is the long part
    of a big PDF, so the page's progress follows it (against an estimate of the pages to come)."""

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
def layout_progress(report: Progress, expected_pages: int) -> Iterator[None]:
    """While inside, each page WeasyPrint lays out is reported as progress."""
    progress_logger = logging.getLogger("weasyprint.progress")
    handler = _LayoutProgress(report, expected_pages)
    progress_logger.addHandler(handler)
    try:
        yield
    finally:
        progress_logger.removeHandler(handler)


def _locked_if_still_mine(model: type[F], claim: Claim) -> F | None:
    return (
        model._default_manager.select_for_update(of=("self",))
        .filter(pk=claim.row_id, state=State.RUNNING, attempts=claim.attempt)
        .first()
    )


def background_make(
    *,
    model: type[F],
    row_id: uuid.UUID | str,
    make: Callable[[F, Progress], Made],
    reporter: Callable[[Claim], Progress] | None = None,
    first_stage: str = "Starting",
    related: Sequence[str] = (),
) -> str:
    """Make the row's file if it still needs making; a no-op otherwise. Returns its state afterwards (or
    why nothing was done: "running", "missing", "taken over"). `related` are read with the row (what
    `make` needs of it)."""
    row, outcome = _claim(model, row_id, first_stage=first_stage, related=related)
    if row is None:
        return outcome
    claim = Claim(row.pk, row.attempts)
    report = (reporter or (lambda c: progress_reporter(model, c)))(claim)
    try:
        made = make(row, report)
    except OperationalError:
        raise  # the database went away: the task retries; the claim goes silent and is taken over
    except Exception as error:
        logger.exception("%s %s could not be made", _label(model), row.pk)
        with transaction.atomic():
            mine = _locked_if_still_mine(model, claim)
            if mine is not None:
                background_fail(mine, f"{type(error).__name__}: {error}")
        return State.FAILED
    write_atomically(background_path(row), made.data)
    with transaction.atomic():
        mine = _locked_if_still_mine(model, claim)
        if mine is None:
            return "taken over"  # another run owns it now; the file it writes is the same file
        now = clock.now()
        _move(mine, State.READY)
        mine.progress, mine.stage = 100, "Ready"
        mine.size = len(made.data)
        for name, value in made.fields.items():
            setattr(mine, name, value)
        mine.finished_at = mine.heartbeat_at = now
        mine.expires_at = now + mine.lifetime()
        mine.save(
            update_fields=[
                "state",
                "progress",
                "stage",
                "size",
                *made.fields,
                "finished_at",
                "heartbeat_at",
                "expires_at",
            ]
        )
    return State.READY


# Sweeping ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    expired: int
    requeued: int


def _stuck(now: dt.datetime) -> Q:
    """Waiting longer than a task takes to arrive, or running with a worker silent too long. A row that
    has had its runs is queued too: its next claim fails it, so the page stops saying "being made"."""
    return Q(state=State.QUEUED, created_at__lte=now - REQUEUE_AFTER) | Q(
        state=State.RUNNING, heartbeat_at__lte=now - SILENT_AFTER
    )


def background_sweep(*, model: type[BackgroundFile], limit: int = 500) -> SweepResult:
    """Remove the files of rows past their time; queue again those a lost task or a dead worker left."""
    now = clock.now()
    manager = model._default_manager
    expired = 0
    due = list(
        manager.exclude(state=State.EXPIRED).filter(expires_at__lte=now).values_list("pk", flat=True)[:limit]
    )
    for row_id in due:
        with transaction.atomic():
            row = (
                manager.select_for_update(of=("self",), skip_locked=True)
                .filter(pk=row_id, expires_at__lte=now)
                .exclude(state=State.EXPIRED)
                .first()
            )
            if row is not None:
                background_expire(row)
                expired += 1
    stuck = list(manager.filter(_stuck(now), expires_at__gt=now).values_list("pk", flat=True)[:limit])
    if stuck:
        task = import_string(model.make_task)
        for row_id in stuck:
            try:
                task.delay(str(row_id))
            except Exception:  # a broker that is down: the next sweep tries again
                logger.warning("%s %s: could not queue it again", _label(model), row_id, exc_info=True)
    if expired or stuck:
        logger.info("%s: %d expired, %d queued again", _label(model), expired, len(stuck))
    return SweepResult(expired=expired, requeued=len(stuck))
