"""Scheduled work of disputes and queries: thin, idempotent."""

from __future__ import annotations

from celery import shared_task

from disputes import services


@shared_task(acks_late=True)
def threads_close_resolved() -> int:
    """Daily: close what was resolved longer ago than it may be reopened (a second run closes nothing)."""
    return services.threads_close_resolved()
