"""Report files: made in the request when small, by a worker when large (DESIGN.md, "Long work").

    queued ──worker claims──▶ running ──made──▶ ready ──expires──▶ expired (file removed)
      │                         │  └──error──▶ failed ──expires──▶ expired
      └──── lost or silent too long: the sweep queues it again, at most MAX_ATTEMPTS runs

- **Deciding** (`report_file_or_request`): the page's report is built as the page built it; a file of
  at most INLINE_MAX_ROWS rows (by format: a PDF is laid out page by page, slowly) is made at once and
  answered; a larger one becomes a `ReportRequest` and the page shows its progress.
- **Asking** (`report_request`) reuses the live request for the same report, format and filters of the
  same owner (a partial unique constraint), so a double click starts one run, not two. The task is queued
  when the request commits (robust: a broker that is down does not fail the page; the sweep re-drives it).
- **Making** (`report_make`, the task's one call) is idempotent: it claims the row (locked only while it
  claims), builds the report from the stored filters through the same form and selector as the page,
  writes the file with its progress on the row, and finishes only if its claim still stands; a second run
  of the same task finds it ready and does nothing. A council report is made only while its requester
  still has the report's permission. The file goes to VAR_DIR/files/reports/<id>, written to a temporary
  name and moved into place (a download never sees half a file).
- **Sweeping** (`reports_sweep`, beat): removes the files of expired requests and re-drives requests a lost
  task or a killed worker left waiting.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q

from portal import clock, permissions
from portal.audit.services import audit_record
from portal.providers.models import Provider
from reports.definitions import ReportDefinition, Scope, report_definition
from reports.models import ReportRequest
from reports.tables import Report

logger = logging.getLogger(__name__)

State = ReportRequest.State
Format = ReportRequest.Format

# The most rows a file is made with in the web request (beyond that a worker makes it): an Excel sheet of
# 20,000 rows takes about a second; WeasyPrint lays out about 60 table rows a second on this machine.
INLINE_MAX_ROWS = {Format.XLSX: 20_000, Format.PDF: 150}
SILENT_AFTER = dt.timedelta(minutes=10)
REQUEUE_AFTER = dt.timedelta(minutes=2)
MAX_ATTEMPTS = 3
FOLDER = "reports"
PROGRESS_EVERY_SECONDS = 1.0
CONTENT_TYPES = {
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.PDF: "application/pdf",
}

TRANSITIONS: dict[str, set[str]] = {
    State.QUEUED: {State.RUNNING, State.EXPIRED},
    State.RUNNING: {State.READY, State.FAILED, State.QUEUED, State.EXPIRED},
    State.READY: {State.EXPIRED},
    State.FAILED: {State.EXPIRED},
    State.EXPIRED: set(),
}

Progress = Callable[[int, str], None]


class ReportError(Exception):
    """A report file cannot be asked for or made (the message is for the user)."""


def lifetime() -> dt.timedelta:
    return dt.timedelta(hours=settings.REPORT_FILES_HOURS)


def _move(request: ReportRequest, to: str) -> None:
    if to not in TRANSITIONS[request.state]:
        raise ReportError(f"A report file {request.get_state_display().lower()} cannot become {to}.")
    request.state = to


# Making a file -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFile:
    data: bytes
    name: str
    content_type: str
    rows: int


def file_name(definition: ReportDefinition, fmt: str) -> str:
    return f"{definition.slug}-{clock.today().isoformat()}.{fmt}"


def _rows_for(report: Report, fmt: str) -> int:
    return report.rows_in(with_detail=fmt == Format.XLSX)


def report_file(
    *, definition: ReportDefinition, report: Report, fmt: str, progress: Progress | None = None
) -> ReportFile:
    """The report as a file in `fmt`."""
    if fmt == Format.XLSX:
        from reports.excel import report_workbook

        data = report_workbook(report, progress=progress)
    elif fmt == Format.PDF:
        from reports.pdf import report_pdf

        data, _pages = report_pdf(report, progress=progress)
    else:
        raise ReportError("Choose Excel or PDF.")
    return ReportFile(data, file_name(definition, fmt), CONTENT_TYPES[Format(fmt)], _rows_for(report, fmt))


def is_small(report: Report, fmt: str) -> bool:
    return _rows_for(report, fmt) <= INLINE_MAX_ROWS[Format(fmt)]


# Asking ------------------------------------------------------------------------------------------


def owner_of(definition: ReportDefinition, scope: Scope) -> str:
    if definition.audience == "provider":
        assert scope.provider is not None
        return f"provider:{scope.provider.pk}"
    return f"user:{scope.user.pk}"


def request_key(definition: ReportDefinition, fmt: str, filters: dict[str, str]) -> str:
    text = json.dumps([definition.audience, definition.key, fmt, sorted(filters.items())], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def report_request(
    *,
    definition: ReportDefinition,
    scope: Scope,
    fmt: str,
    filters: dict[str, str],
    filters_text: str,
) -> ReportRequest:
    """Ask a worker for the report's file; the live request for the same file if there is one."""
    if fmt not in Format.values:
        raise ReportError("Choose Excel or PDF.")
    if definition.audience == "council" and not scope.user.is_council_staff:
        raise ReportError("Only council staff run council reports.")
    owner, key = owner_of(definition, scope), request_key(definition, fmt, filters)
    live = ReportRequest.objects.all_for_workers().live().filter(owner=owner, key=key)
    now = clock.now()
    existing = live.first()
    if existing is not None and existing.expires_at > now:
        return existing
    with transaction.atomic():
        if existing is not None:  # past its time, not swept yet: expire it so a new one can start
            _expire(existing)
        try:
            with transaction.atomic():
                request = ReportRequest.objects.create(
                    report=definition.key,
                    format=fmt,
                    filters=filters,
                    filters_text=filters_text[:500],
                    owner=owner,
                    key=key,
                    provider=scope.provider if definition.audience == "provider" else None,
                    requested_by=scope.user,
                    stage="Waiting for a worker",
                    file_name=file_name(definition, fmt),
                    created_at=now,
                    expires_at=now + lifetime(),
                )
        except IntegrityError:  # asked for at the same moment by a colleague or a second click
            found = live.first()
            if found is None:
                raise
            return found
        audit_record(
            action="reports.file.requested",
            actor=scope.user,
            obj=request,
            provider=request.provider,
            data={"report": definition.key, "format": fmt, "filters": filters},
        )
        _queue_on_commit(request)
    return request


def _queue_on_commit(request: ReportRequest) -> None:
    from reports.tasks import report_make_task

    request_id = str(request.pk)
    transaction.on_commit(lambda: report_make_task.delay(request_id), robust=True)


def definition_of(request: ReportRequest) -> ReportDefinition:
    return report_definition("provider" if request.provider_id else "council", request.report)


# The worker --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    request_id: uuid.UUID
    attempt: int


def _claim(request_id: uuid.UUID | str) -> tuple[ReportRequest | None, str]:
    with transaction.atomic():
        request = (
            ReportRequest.objects.all_for_workers()
            .select_for_update(of=("self",))
            .select_related("provider", "requested_by")
            .filter(pk=request_id)
            .first()
        )
        if request is None:
            return None, "missing"
        now = clock.now()
        if request.state in (State.READY, State.FAILED, State.EXPIRED):
            return None, request.state
        if request.expires_at <= now:
            _expire(request)
            return None, State.EXPIRED
        if request.state == State.RUNNING:
            if request.heartbeat_at and now - request.heartbeat_at < SILENT_AFTER:
                return None, "running"
            logger.warning("report file %s: its run went silent; taking it over", request.pk)
            _move(request, State.QUEUED)
        _move(request, State.RUNNING)
        if request.attempts >= MAX_ATTEMPTS:
            _fail(request, f"gave up after {request.attempts} attempts")
            return None, State.FAILED
        request.attempts += 1
        request.started_at = request.heartbeat_at = now
        request.progress, request.stage = 5, "Reading the figures"
        request.save(update_fields=["state", "attempts", "started_at", "heartbeat_at", "progress", "stage"])
    return request, State.RUNNING


def _fail(request: ReportRequest, error: str) -> None:
    now = clock.now()
    if request.state != State.FAILED:
        _move(request, State.FAILED)
    request.error = error[:2000]
    request.stage = "Could not be made"
    request.finished_at = now
    request.expires_at = now + lifetime()
    request.save(update_fields=["state", "error", "stage", "finished_at", "expires_at"])


def _reporter(claim: _Claim) -> Progress:
    last = [0.0]

    def report(percent: int, stage: str) -> None:
        now = time.monotonic()
        if percent < 100 and now - last[0] < PROGRESS_EVERY_SECONDS:
            return
        last[0] = now
        ReportRequest.objects.filter(pk=claim.request_id, state=State.RUNNING, attempts=claim.attempt).update(
            progress=min(max(percent, 0), 99), stage=stage[:200], heartbeat_at=clock.now()
        )

    return report


def _scope(request: ReportRequest, definition: ReportDefinition) -> Scope:
    """Whose figures, checked again now: the requester must still hold the report's permission."""
    user = request.requested_by
    if user is None or not user.is_active:
        raise ReportError("The person who asked for it no longer has a login.")
    if definition.audience == "council":
        if definition.permission not in permissions.permissions_for(user, None):
            raise ReportError("The person who asked for it may no longer run this report.")
        return Scope(user)
    assert request.provider_id is not None  # a provider report's request names its provider
    return Scope(user, Provider.objects.get(pk=request.provider_id))


def report_build(*, definition: ReportDefinition, scope: Scope, filters: dict[str, Any]) -> Report:
    """The report for stored filters, through its form as the page took them."""
    form = definition.form(filters)
    if not form.is_valid():
        raise ReportError(f"The filters are no longer valid: {form.errors.as_text()}")
    return definition.build(scope, form.cleaned_data)


def report_make(*, request_id: uuid.UUID | str) -> str:
    """Make the requested file if it still needs making; a no-op otherwise. Returns its state after."""
    request, outcome = _claim(request_id)
    if request is None:
        return outcome
    claim = _Claim(request.pk, request.attempts)
    progress = _reporter(claim)
    try:
        definition = definition_of(request)
        report = report_build(
            definition=definition, scope=_scope(request, definition), filters=request.filters
        )
        progress(40, "Writing the file")
        made = report_file(definition=definition, report=report, fmt=request.format, progress=progress)
    except OperationalError:
        raise  # the database went away: the task retries; the claim goes silent and is taken over
    except Exception as error:
        logger.exception("report file %s could not be made", request.pk)
        with transaction.atomic():
            mine = _locked_if_still_mine(claim)
            if mine is not None:
                _fail(mine, f"{type(error).__name__}: {error}")
        return State.FAILED
    _write(request_path(request), made.data)
    with transaction.atomic():
        mine = _locked_if_still_mine(claim)
        if mine is None:
            return "taken over"
        now = clock.now()
        _move(mine, State.READY)
        mine.progress, mine.stage = 100, "Ready"
        mine.size, mine.rows = len(made.data), made.rows
        mine.finished_at = mine.heartbeat_at = now
        mine.expires_at = now + lifetime()
        mine.save(
            update_fields=[
                "state",
                "progress",
                "stage",
                "size",
                "rows",
                "finished_at",
                "heartbeat_at",
                "expires_at",
            ]
        )
    return State.READY


def _locked_if_still_mine(claim: _Claim) -> ReportRequest | None:
    return (
        ReportRequest.objects.all_for_workers()
        .select_for_update(of=("self",))
        .filter(pk=claim.request_id, state=State.RUNNING, attempts=claim.attempt)
        .first()
    )


# Files -------------------------------------------------------------------------------------------


def request_path(request: ReportRequest) -> Path:
    """VAR_DIR/files/reports/<the request's id as 32 hex digits>: never a name anyone typed."""
    name = request.pk.hex
    if not re.fullmatch(r"[0-9a-f]{32}", name):
        raise FileNotFoundError(name)
    return Path(settings.VAR_DIR) / "files" / FOLDER / name


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def request_file(request: ReportRequest) -> Path | None:
    """The ready file, or None (not ready, expired, or gone from disk)."""
    if request.state != State.READY or request.expires_at <= clock.now():
        return None
    path = request_path(request)
    return path if path.is_file() else None


# Sweeping ----------------------------------------------------------------------------------------


def _expire(request: ReportRequest) -> None:
    _move(request, State.EXPIRED)
    with contextlib.suppress(FileNotFoundError):
        request_path(request).unlink()
    request.size = 0
    request.stage = "Removed"
    request.save(update_fields=["state", "size", "stage"])


@dataclass(frozen=True)
class SweepResult:
    expired: int
    requeued: int


def reports_sweep(*, limit: int = 500) -> SweepResult:
    """Remove the files of requests past their time; queue again those a lost task or dead worker left."""
    now = clock.now()
    expired = 0
    due = list(
        ReportRequest.objects.all_for_workers()
        .exclude(state=State.EXPIRED)
        .filter(expires_at__lte=now)
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        with transaction.atomic():
            request = (
                ReportRequest.objects.all_for_workers()
                .select_for_update(of=("self",), skip_locked=True)
                .filter(pk=pk)
                .exclude(state=State.EXPIRED)
                .first()
            )
            if request is not None and request.expires_at <= now:
                _expire(request)
                expired += 1
    stuck = list(
        ReportRequest.objects.all_for_workers()
        .filter(expires_at__gt=now, attempts__lt=MAX_ATTEMPTS)
        .filter(
            Q(state=State.QUEUED, created_at__lt=now - REQUEUE_AFTER)
            | Q(state=State.RUNNING, heartbeat_at__lt=now - SILENT_AFTER)
        )
        .values_list("pk", flat=True)[:limit]
    )
    from reports.tasks import report_make_task

    for pk in stuck:
        with contextlib.suppress(Exception):  # a broker that is down: the next sweep tries again
            report_make_task.delay(str(pk))
    return SweepResult(expired, len(stuck))
