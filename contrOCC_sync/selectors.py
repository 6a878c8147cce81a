"""What the staff page shows of the back-office link: every stream, the outbox, parked rows, recent runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Min, Q

from contrOCC_sync.models import Heartbeat, OutboxMessage, ParkedRow, SyncRun, SyncStream
from contrOCC_sync.services import COMPONENT, backoffice_up


@dataclass
class LinkState:
    heartbeat: Heartbeat | None
    up: bool
    streams: list[Any]
    outbox_counts: dict[str, int]
    oldest_pending: Any
    refused: list[OutboxMessage]
    pending_with_errors: list[OutboxMessage]
    held_rows: list[ParkedRow]
    runs: list[SyncRun]


def link_state() -> LinkState:
    streams = list(
        SyncStream.objects.annotate(
            parked=Count("parked_rows", filter=Q(parked_rows__state=ParkedRow.State.PARKED)),
            skipped=Count("parked_rows", filter=Q(parked_rows__state=ParkedRow.State.SKIPPED)),
        ).order_by("pk")
    )
    counts = dict(
        OutboxMessage.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n")
    )
    pending = OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING)
    return LinkState(
        heartbeat=Heartbeat.objects.filter(component=COMPONENT).first(),
        up=backoffice_up(),
        streams=streams,
        outbox_counts={state: counts.get(state, 0) for state in OutboxMessage.State.values},
        oldest_pending=pending.aggregate(oldest=Min("created_at"))["oldest"],
        refused=list(
            OutboxMessage.objects.filter(state=OutboxMessage.State.REFUSED)
            .select_related("provider")
            .order_by("-refused_at")[:20]
        ),
        pending_with_errors=list(
            pending.exclude(last_error="").select_related("provider").order_by("created_at")[:20]
        ),
        held_rows=list(
            ParkedRow.objects.exclude(state=ParkedRow.State.APPLIED)
            .select_related("stream")
            .order_by("-last_tried_at")[:50]
        ),
        runs=list(SyncRun.objects.select_related("stream")[:20]),
    )
