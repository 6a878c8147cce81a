"""Scheduled account work (Celery beat): thin tasks that call one service each."""

from __future__ import annotations

from celery import shared_task
from django.contrib.sessions.models import Session

from portal import clock
from portal.accounts.services import inactive_accounts_lock as inactive_accounts_lock_service


@shared_task
def inactive_accounts_lock() -> dict[str, int]:
    """Daily: warn logins unused for 80 days, lock those unused for 90. Idempotent."""
    return inactive_accounts_lock_service()


@shared_task
def expired_sessions_clear() -> int:
    """Daily: delete expired sessions from the database."""
    deleted, _ = Session.objects.filter(expire_date__lt=clock.now()).delete()
    return deleted
