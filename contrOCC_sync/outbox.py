"""The transactional outbox: the only way the portal sends anything to the back office.

`outbox_enqueue(...)` is called inside the transaction that confirms, approves or settles something: the
message and its idempotency key are written with it or not at all. After commit a worker delivers it
(`outbox_message_deliver`); a beat sweeper re-drives whatever is still pending. Delivery is at least
once; the key, fixed before the first attempt, makes it exactly once at the back office.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Any

from django.db import transaction

from contrOCC_sync.client import BackOfficeClient, BackOfficeRefused, BackOfficeUnavailable
from contrOCC_sync.models import OutboxMessage
from portal import clock
from portal.audit.services import audit_record
from portal.providers.models import Provider

logger = logging.getLogger(__name__)

# Waits between sweeps' attempts of one message: 1, 2, 4 … minutes, at most an hour, with jitter.
BACKOFF_CAP_SECONDS = 3600


def outbox_enqueue(
    *, kind: str, body: dict[str, Any], provider: Provider | None = None, summary: str = ""
) -> OutboxMessage:
    """Write a message for the back office in the caller's transaction; deliver it once that commits."""
    if kind not in OutboxMessage.PATHS:
        raise ValueError(f"Unknown outbox message kind {kind!r}")
    message = OutboxMessage.objects.create(
        kind=kind,
        body=body,
        provider=provider,
        summary=summary[:200],
        created_at=clock.now(),
        next_attempt_at=clock.now(),
    )
    from contrOCC_sync.tasks import outbox_deliver

    # Robust: once the change has committed, a broker that is down must not fail the user's request (the
    # message is safe in the table and the sweeper re-drives it); Django logs the error instead.
    transaction.on_commit(lambda: outbox_deliver.delay(message.pk), robust=True)
    return message


def outbox_message_deliver(*, message_id: int, client: BackOfficeClient | None = None) -> str:
    """Deliver one message if it is still pending; a no-op otherwise. Returns its state afterwards.

    The row is locked while the request is made, so two workers never send it at once; a failure that
    may be transient leaves it pending (and raises, for the task's retry); a refusal is final and shown
    to staff with the back office's reason.
    """
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.state != OutboxMessage.State.PENDING:
            return message.state if message else "missing"
        message.attempts += 1
        message.last_attempt_at = clock.now()
        sender = client or BackOfficeClient()
        try:
            response = sender.post(
                OutboxMessage.PATHS[message.kind], message.body, idempotency_key=str(message.idempotency_key)
            )
        except BackOfficeRefused as refusal:
            message.state = OutboxMessage.State.REFUSED
            message.refused_at = clock.now()
            message.refusal = str(refusal)
            message.response = {
                "error": {"code": refusal.code, "message": refusal.message, "details": refusal.details}
            }
            message.save()
            audit_record(
                action="controcc_sync.outbox.refused",
                actor=None,
                obj=message,
                provider=message.provider,
                data={
                    "kind": message.kind,
                    "status": refusal.status,
                    "code": refusal.code,
                    "message": refusal.message,
                },
            )
            logger.warning("outbox message %s refused: %s", message.pk, refusal)
            if message.kind == OutboxMessage.Kind.ACTUALS_SUBMISSION:
                # Imported here: the actuals app sends through this outbox (it imports this module).
                from actuals.services import actual_lines_refused

                actual_lines_refused(body=message.body, reason=refusal.message)
            elif message.kind in (OutboxMessage.Kind.INVOICE, OutboxMessage.Kind.EXPENSE_CLAIM):
                from remittances.services_invoices import submission_refused  # it imports this module

                submission_refused(kind=message.kind, body=message.body, reason=refusal.message)
            return message.state
        except BackOfficeUnavailable as error:
            message.last_error = str(error)[:2000]
            message.next_attempt_at = clock.now() + _backoff(message.attempts)
            message.save(update_fields=["attempts", "last_attempt_at", "last_error", "next_attempt_at"])
            failure = error  # raised once the attempt's record has committed, for the task to retry
        else:
            message.state = OutboxMessage.State.DELIVERED
            message.delivered_at = clock.now()
            message.response = response
            message.last_error = ""
            # Not the body: a week's 100 lines need not be written again.
            message.save(
                update_fields=[
                    "state",
                    "delivered_at",
                    "response",
                    "last_error",
                    "attempts",
                    "last_attempt_at",
                ]
            )
            return message.state
        finally:
            if client is None:
                sender.close()  # now, not when the failure's traceback is collected
    raise failure


def _backoff(attempts: int) -> dt.timedelta:
    seconds = min(BACKOFF_CAP_SECONDS, 60 * 2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=seconds * random.uniform(0.5, 1.0))


def outbox_due(*, limit: int = 500) -> list[int]:
    """Pending messages whose next attempt is due, oldest first (for the sweeper)."""
    return list(
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def outbox_retry_now(*, by: Any) -> int:
    """A portal administrator's "retry now": every pending message becomes due at once."""
    count = OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(
        next_attempt_at=clock.now()
    )
    audit_record(action="controcc_sync.outbox.retried", actor=by, data={"messages": count})
    return count
