"""Celery tasks for the back-office link: thin, idempotent, primary keys in."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from contrOCC_sync import inbound, outbox, services
from contrOCC_sync.client import BackOfficeUnavailable


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(BackOfficeUnavailable,),
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=8,
)
def outbox_deliver(self: Any, message_id: int) -> str:
    """Deliver one outbox message; a no-op once delivered or refused. After the last retry the message
    stays pending with its error on the staff page, and the sweeper re-drives it."""
    return outbox.outbox_message_deliver(message_id=message_id)


@shared_task(acks_late=True)
def outbox_sweep() -> int:
    """Re-drive every pending message whose next attempt is due (lost tasks, crashed workers, outages)."""
    due = outbox.outbox_due()
    for message_id in due:
        outbox_deliver.delay(message_id)
    return len(due)


@shared_task(acks_late=True)
def sync_pull_all() -> dict[str, str]:
    """Pull every stream in dependency order (beat, every minute)."""
    return {run.stream.name: run.status for run in inbound.pull_all()}


@shared_task(acks_late=True)
def sync_stream_pull(name: str) -> str:
    return inbound.stream_pull(name=name).status


@shared_task
def heartbeat_record() -> bool:
    return services.heartbeat_record().ok


@worker_ready.connect
def _check_the_back_office_at_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts checks the link and pulls at once, rather than after the first beat interval."""
    heartbeat_record.delay()
    sync_pull_all.delay()
