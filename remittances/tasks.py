"""Background work of remittances (thin, idempotent tasks, keys in): documents made on request and the
sweep that removes expired files and re-drives documents a lost task left waiting."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from remittances import documents


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def document_make_task(self: Any, document_id: str) -> str:
    """Make one requested document (a no-op once made, or while another run is making it)."""
    return documents.document_make(document_id=document_id)


@shared_task(acks_late=True)
def documents_sweep() -> dict[str, int]:
    result = documents.documents_sweep()
    return {"expired": result.expired, "requeued": result.requeued}


@shared_task(acks_late=True)
def annual_statements_for_closed_year() -> int:
    """Ask for the statement of the year just closed for every foster carer paid in it (a no-op for those
    that have one live)."""
    from remittances.statements import annual_statements_for_closed_year as ask

    return ask()
