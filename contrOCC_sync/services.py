"""The link's health: the heartbeat a beat task records, and telling the portal team once when a
stream keeps failing."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction

from contrOCC_sync.client import BackOfficeClient, BackOfficeError
from contrOCC_sync.models import Heartbeat, SyncStream
from portal import clock
from portal.mail.services import email_queue

logger = logging.getLogger(__name__)

COMPONENT = "backoffice"


def heartbeat_record(*, client: BackOfficeClient | None = None) -> Heartbeat:
    """Ask the back office's health endpoint and keep the answer for /healthz."""
    try:
        ok = (client or BackOfficeClient()).health()
        detail = "" if ok else "the health endpoint did not say ok"
    except BackOfficeError as error:
        ok, detail = False, str(error)[:500]
    heartbeat, _ = Heartbeat.objects.update_or_create(
        component=COMPONENT, defaults={"checked_at": clock.now(), "ok": ok, "detail": detail}
    )
    return heartbeat


def backoffice_up() -> bool:
    """Up when the last heartbeat said so and is recent; a stale or failing one means down."""
    heartbeat = Heartbeat.objects.filter(component=COMPONENT).first()
    if heartbeat is None or not heartbeat.ok:
        return False
    return (clock.now() - heartbeat.checked_at).total_seconds() <= settings.BACKOFFICE_HEARTBEAT_STALE_SECONDS


def link_retry(*, by: Any) -> int:
    """A portal administrator's "retry now": every pending message due at once, a pull and a sweep queued."""
    from contrOCC_sync.outbox import outbox_retry_now
    from contrOCC_sync.tasks import outbox_sweep, sync_pull_all

    pending = outbox_retry_now(by=by)
    transaction.on_commit(sync_pull_all.delay)
    transaction.on_commit(outbox_sweep.delay)
    return pending


def stream_failure_alert(*, stream: SyncStream) -> bool:
    """Email the portal team (ADMINS) the first time a stream fails, not every minute it goes on failing:
    the email is queued with the stream's `alerted_at`, so the one alert is never lost."""
    with transaction.atomic():
        locked = SyncStream.objects.select_for_update().get(pk=stream.pk)
        if locked.alerted_at is not None or locked.failing_since is None:
            return False
        locked.alerted_at = clock.now()
        locked.save(update_fields=["alerted_at"])
        name, since, error = locked.get_name_display(), locked.failing_since, locked.last_error
        body = (
            f"The {name} stream has failed since {since:%Y-%m-%d %H:%M} UTC.\n\nLast error: {error}\n\n"
            "The portal keeps retrying. See the back-office link page for its state; you will not be emailed "
            "again until it has recovered and failed anew."
        )
        admins = [address for _, address in settings.ADMINS]
        if admins:  # as mail_admins did: the subject prefixed, to every address in ADMINS
            email_queue(
                subject=f"{settings.EMAIL_SUBJECT_PREFIX}Back-office sync failing: {name}",
                body=body,
                to=admins,
            )
    logger.error("sync stream %s failing since %s: %s", stream.name, since, error)
    return True
