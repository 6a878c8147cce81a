"""Background work of reports (thin, idempotent tasks, keys in): a report file made on request, and the
sweep that removes expired files and re-drives requests a lost task left waiting."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from portal.documents import MAKE_TASK_OPTIONS
from reports import services


@shared_task(**MAKE_TASK_OPTIONS)
def report_make_task(self: Any, request_id: str) -> str:
    """Make one requested report file (a no-op once made, or while another run is making it)."""
    return services.report_make(request_id=request_id)


@shared_task(acks_late=True)
def reports_sweep() -> dict[str, int]:
    result = services.reports_sweep()
    return {"expired": result.expired, "requeued": result.requeued}
