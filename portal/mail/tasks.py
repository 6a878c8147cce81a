"""Celery tasks for outgoing email: thin, idempotent, primary keys in."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from portal.mail import services
from portal.mail.services import EmailNotSent


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(EmailNotSent,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=4,
)
def email_send(self: Any, email_id: int) -> str:
    """Send one queued email; a no-op once sent. After the last retry it stays waiting, with its error,
    for the sweep."""
    return services.queued_email_send(email_id=email_id)


@shared_task(acks_late=True)
def email_sweep() -> int:
    """Queue every waiting email whose next attempt is due (lost tasks, broker outages, spent retries)."""
    due = services.emails_due()
    for email_id in due:
        email_send.delay(email_id)
    return len(due)
