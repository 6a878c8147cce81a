"""Background work of remittances (thin, idempotent tasks, keys in): documents made on request and the
sweep that removes expired files and re-drives documents a lost task left waiting; the nightly sweep of
invoice drafts and receipts left behind."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from portal.documents import MAKE_TASK_OPTIONS
from remittances import documents


@shared_task(**MAKE_TASK_OPTIONS)
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


@shared_task(acks_late=True)
def invoice_leftovers_sweep() -> dict[str, int]:
    """Delete invoice drafts nobody finished and receipts no expense claim holds (a second run finds
    nothing more to delete)."""
    from remittances.services_invoices import invoice_leftovers_sweep as sweep

    swept = sweep()
    return {"drafts": swept.drafts, "receipts": swept.receipts}
