"""Scheduled work of the weekly cycle (Celery beat, London time): thin, idempotent tasks, keys in.

- Monday 06:00: `actuals_generate_all` generates the week just ended for every portal-enabled provider,
  one task per provider, so one provider's failure neither stops nor delays the others.
- Monday 14:00 and Tuesday 09:00: `deadline_reminders_send_automatic` reminds the providers that have
  not confirmed the week due (once a day per slot, however often the task runs).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.db import OperationalError

from actuals import reminders, services
from portal.providers.models import Provider

logger = logging.getLogger(__name__)


@shared_task(acks_late=True)
def actuals_generate_all() -> int:
    """Queue the week just ended for every portal-enabled provider; the week is fixed here, so a task
    that runs late still generates the same week."""
    week_start = services.week_just_ended()
    provider_ids = services.providers_for_generation()
    for provider_id in provider_ids:
        actuals_generate_for_provider.delay(provider_id, week_start.isoformat())
    logger.info("Generating %s for %d providers", week_start, len(provider_ids))
    return len(provider_ids)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=5,
)
def actuals_generate_for_provider(self: Any, provider_id: int, week_start: str) -> str:
    """Generate one provider's week (a no-op for what is already there). A provider with nothing to
    generate gets no week: an empty one would say it has something to confirm."""
    week = dt.date.fromisoformat(week_start)
    provider = Provider.objects.filter(pk=provider_id, portal_enabled=True, active=True).first()
    if provider is None:
        return "not enabled"
    if not services.lines_to_generate(provider=provider, week_start=week):
        return "nothing to generate"
    try:
        result = services.actuals_generate(provider=provider, week_start=week, by=None)
    except services.ActualsError as error:
        logger.warning("Generating %s for provider %s refused: %s", week, provider.ref, error)
        return "refused"
    except OperationalError:
        raise  # the database is away: retried
    except Exception:
        logger.exception("Generating %s for provider %s failed", week, provider.ref)
        raise
    return f"created {result.created}, refreshed {result.refreshed}, kept {result.kept}"


@shared_task(acks_late=True)
def deadline_reminders_send_automatic(slot: str) -> int:
    """Remind the providers that have not confirmed the week due; a second run of the slot on the same
    day reminds nobody."""
    return len(reminders.deadline_reminders_automatic(slot=slot).reminded)
