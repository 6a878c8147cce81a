"""Writing to the audit trail: `audit_record(...)`, called inside the transaction of the change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from portal import clock
from portal.audit.models import AuditEvent

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.providers.models import Provider


def audit_record(
    *,
    action: str,
    actor: User | None,
    obj: models.Model | None = None,
    provider: Provider | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. `provider` is the provider the event belongs to, when there is one."""
    return AuditEvent.objects.create(
        at=clock.now(),
        actor=actor if actor is not None and actor.pk else None,
        action=action,
        object_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        provider=provider,
        data=data or {},
    )


def audit_record_many(
    *,
    action: str,
    actor: User | None,
    provider: Provider | None,
    events: Iterable[tuple[models.Model, dict[str, Any]]],
) -> int:
    """Append one event per (object, data) in one statement: a bulk change (a claim form applied to
    thousands of lines) still leaves each object its own history, without thousands of round trips."""
    now = clock.now()
    rows = [
        AuditEvent(
            at=now,
            actor=actor if actor is not None and actor.pk else None,
            action=action,
            object_type=ContentType.objects.get_for_model(obj),
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            provider=provider,
            data=data,
        )
        for obj, data in events
    ]
    AuditEvent.objects.bulk_create(rows, batch_size=1000)
    return len(rows)
