"""Reads of threads that pages reuse: inboxes with their unread marks, a thread with its messages and
read receipts, the unread count in the navigation. Provider-owned rows start from a scoped queryset."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Count, Exists, OuterRef, QuerySet

from actuals.models import LineException
from disputes.models import Message, Thread, ThreadRead
from portal import cached
from portal.providers.models import Provider, ServiceUser

if TYPE_CHECKING:
    from portal.accounts.models import User
    from remittances.models_invoices import Invoice

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


# What the unread counts depend on (portal.cached): a provider's threads and its users' reads; for council
# staff, every thread, staff's reads and the teams' members.
COUNCIL_THREADS = "threads:council"


def threads_of(provider_id: int) -> str:
    return f"threads:provider:{provider_id}"


def unread_count(*, user: User, provider: Provider | None) -> int:
    """Threads with a message the user has not read: the provider's, or (council staff) their teams'. On
    every page (the navigation), so cached until a thread it counts changes (`services.threads_changed`)."""
    if provider is not None:
        key, depends_on = f"unread:{user.pk}:{provider.pk}", [threads_of(provider.pk)]
    elif user.is_council_staff:
        key, depends_on = f"unread:{user.pk}:council", [COUNCIL_THREADS]
    else:
        return 0

    def count() -> int:  # the query is built only on a miss: building it costs more than the cache hit
        if provider is not None:
            threads = Thread.objects.for_provider(provider)
        else:
            threads = Thread.objects.for_staff(user).filter(team__members=user)
        read_later = ThreadRead.objects.filter(
            thread=OuterRef("pk"), user=user, read_at__gte=OuterRef("last_message_at")
        )
        return threads.filter(~Exists(read_later)).count()

    return cached.figure(key, depends_on=depends_on, compute=count)


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


def threads_by_line(line_ids: list[int]) -> dict[int, list[Thread]]:
    """The threads each of a page of lines is in, newest first, in one query (the lines came from a
    scoped read already)."""
    found: dict[int, list[Thread]] = {}
    links = (
        Thread.lines.through.objects.filter(actualline_id__in=line_ids)
        .select_related("thread")
        .order_by("-thread__last_message_at", "-thread_id")
    )
    for link in links:
        found.setdefault(link.actualline_id, []).append(link.thread)
    return found


@dataclass(frozen=True)
class DeathReport:
    """What the person's record says of a death a "service ended or person died" query reported, for the
    council's thread page: whether the council can still confirm it or clear it from this query."""

    person: ServiceUser
    reported_here: bool  # the person's record holds this query's report (its date, its provider)
    can_confirm: bool
    can_clear: bool


def death_report(thread: Thread) -> DeathReport | None:
    """The death this query reported, as the person's record stands; None for any other thread."""
    if not (
        thread.kind == Thread.Kind.QUERY
        and thread.query_type == Thread.QueryType.SERVICE_ENDED
        and thread.died_on is not None
        and thread.person_id is not None
    ):
        return None
    person = ServiceUser.objects.select_related("death_reported_by", "death_confirmed_by").get(
        pk=thread.person_id
    )
    here = person.death_reported_on == thread.died_on and person.death_reported_by_id == thread.provider_id
    decidable = thread.is_open and person.deceased_on is None
    confirmed_date = person.death_confirmed_at is not None and person.death_reported_on == thread.died_on
    return DeathReport(
        person=person,
        reported_here=here,
        can_confirm=decidable and not confirmed_date,
        can_clear=decidable and here,
    )


def thread_invoice(thread: Thread) -> Invoice | None:
    """The invoice a thread is about (its provider's, by the portal reference), if any."""
    from remittances.models_invoices import Invoice

    if not thread.invoice_ref:
        return None
    return Invoice.objects.for_provider(thread.provider).filter(portal_ref=thread.invoice_ref).first()
