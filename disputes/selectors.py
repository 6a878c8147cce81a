"""Reads of threads that pages reuse: inboxes with their unread marks, a thread with its messages and
read receipts, the unread count in the navigation. Provider-owned rows start from a scoped queryset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, QuerySet

from actuals.models import LineException
from disputes.models import Message, Thread, ThreadRead
from portal.providers.models import Provider

if TYPE_CHECKING:
    from portal.accounts.models import User

OPEN_STATES = [Thread.State.OPEN, Thread.State.AWAITING_PROVIDER, Thread.State.AWAITING_COUNCIL]


def _with_unread(threads: QuerySet[Thread], user: User) -> QuerySet[Thread]:
    """`unread`: a message came after the user last read it (or they never have)."""
    read_later = ThreadRead.objects.filter(
        thread=OuterRef("pk"), user=user, read_at__gte=OuterRef("last_message_at")
    )
    return threads.annotate(unread=~Exists(read_later))


def threads_for_provider(*, provider: Provider, user: User) -> QuerySet[Thread]:
    return _with_unread(
        Thread.objects.for_provider(provider).select_related("team", "person"), user
    ).annotate(message_count=Count("messages"))


def threads_for_staff(*, user: User) -> QuerySet[Thread]:
    return _with_unread(
        Thread.objects.for_staff(user).select_related("team", "provider", "assignee", "person"), user
    ).annotate(message_count=Count("messages"))


def unread_count(*, user: User, provider: Provider | None) -> int:
    """Threads with a message the user has not read: the provider's, or (council staff) their teams'."""
    if provider is not None:
        threads = Thread.objects.for_provider(provider)
    elif user.is_council_staff:
        threads = Thread.objects.for_staff(user).filter(team__members=user)
    else:
        return 0
    read_later = ThreadRead.objects.filter(
        thread=OuterRef("pk"), user=user, read_at__gte=OuterRef("last_message_at")
    )
    return threads.filter(~Exists(read_later)).count()


def thread_for_provider(*, provider: Provider, pk: int) -> Thread | None:
    return (
        Thread.objects.for_provider(provider)
        .select_related("team", "person", "week", "remittance_line__remittance", "provider")
        .filter(pk=pk)
        .first()
    )


def thread_for_staff(*, user: User, pk: int) -> Thread | None:
    return (
        Thread.objects.for_staff(user)
        .select_related("team", "person", "week", "remittance_line__remittance", "provider", "assignee")
        .filter(pk=pk)
        .first()
    )


@dataclass(frozen=True)
class MessageRow:
    message: Message
    read_by_other_side_at: dt.datetime | None  # the read receipt: when the other side first saw it


def messages_with_receipts(thread: Thread) -> list[MessageRow]:
    """The thread's messages, oldest first, each with when the other side had read it (a read receipt:
    the latest read of anyone on the other side, if it came after the message)."""
    messages = list(thread.messages.select_related("author").prefetch_related("attachments"))
    reads = list(ThreadRead.objects.filter(thread=thread).values_list("user__council_role", "read_at"))
    council_read = max((at for role, at in reads if role), default=None)
    provider_read = max((at for role, at in reads if not role), default=None)
    rows = []
    for message in messages:
        other = provider_read if message.from_council else council_read
        rows.append(MessageRow(message, other if other is not None and other >= message.sent_at else None))
    return rows


def thread_exceptions(thread: Thread) -> list[LineException]:
    """The exceptions (with the provider's reasons) of the lines a thread is about, in one query."""
    return list(LineException.objects.filter(line__in=thread.lines.all()).order_by("line", "rule"))
