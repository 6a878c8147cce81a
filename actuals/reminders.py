"""The deadline tracker and its reminders: for one week, where every provider expected to confirm it
stands, and the email that reminds those who have not confirmed.

A provider is *expected* to confirm a week when its portal access is on, it is active in the back office
and it has care package lines running in the week that are paid through actuals (a children's agency paid
on invoice is not chased for actuals), or when it has actual lines for the week anyway.

Reminders go to the provider's own address and to its users' (active and not locked: a locked login
cannot act on it). Each is recorded as a `DeadlineReminder` of a named run, so a run repeated reminds
nobody twice (see the model). The scheduled runs are Monday afternoon and Tuesday morning, London time
(CELERY_BEAT_SCHEDULE), for the week due.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from actuals import calendar
from actuals.models import ActualLine, ClosureDay, DeadlineReminder, ProviderWeek
from actuals.services import lines_running_in_week
from portal import clock
from portal.accounts.models import Membership
from portal.audit.services import audit_record
from portal.mail.services import email_queue
from portal.providers.models import CarePackageLine, Provider

if TYPE_CHECKING:
    from portal.accounts.models import User

logger = logging.getLogger(__name__)

# The scheduled runs (CELERY_BEAT_SCHEDULE): one of each a day at most, whatever the beat does.
AUTOMATIC_SLOTS = ("monday-afternoon", "tuesday-morning")


class ReminderError(Exception):
    """A reminder run the rules refuse; the message is for the person who asked."""


class DeadlineState(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    LATE = "late", "Confirmed late"
    ON_TIME = "on_time", "Confirmed on time"


STATE_COLOURS = {
    DeadlineState.NOT_STARTED: "grey",
    DeadlineState.IN_PROGRESS: "blue",
    DeadlineState.LATE: "orange",
    DeadlineState.ON_TIME: "green",
}
STATE_ORDER = list(DeadlineState)  # who needs chasing first
NOT_CONFIRMED = frozenset({DeadlineState.NOT_STARTED, DeadlineState.IN_PROGRESS})


@dataclass
class ProviderDeadline:
    """One provider's place in the week: its week (if generated) and the reminders it was sent."""

    provider: Provider
    week: ProviderWeek | None
    last_reminder: DeadlineReminder | None = None
    reminders: int = 0

    @property
    def state(self) -> DeadlineState:
        if self.week is None:
            return DeadlineState.NOT_STARTED
        if not self.week.is_confirmed:
            return DeadlineState.IN_PROGRESS
        return DeadlineState.LATE if self.week.late else DeadlineState.ON_TIME

    @property
    def state_label(self) -> str:
        return self.state.label

    @property
    def state_colour(self) -> str:
        return STATE_COLOURS[self.state]

    @property
    def needs_reminder(self) -> bool:
        return self.state in NOT_CONFIRMED


SORTS = {
    "provider": lambda row: (row.provider.name.lower(), row.provider.ref),
    "state": lambda row: (STATE_ORDER.index(row.state), row.provider.name.lower()),
    "confirmed": lambda row: (
        row.week is None or row.week.confirmed_at is None,
        row.week.confirmed_at if row.week is not None and row.week.confirmed_at else clock.now(),
    ),
    "reminded": lambda row: (
        row.last_reminder is None,
        row.last_reminder.sent_at if row.last_reminder is not None else clock.now(),
    ),
}


@dataclass
class DeadlineBoard:
    """The week's deadline (as closure days have moved it) and every expected provider's state."""

    week_start: dt.date
    deadline: dt.datetime
    usual_deadline: dt.datetime
    moved_by: list[ClosureDay]
    rows: list[ProviderDeadline] = field(default_factory=list)

    @property
    def label(self) -> str:
        return calendar.week_label(self.week_start)

    @property
    def moved(self) -> bool:
        return self.deadline != self.usual_deadline

    @property
    def overdue(self) -> bool:
        return clock.now() > self.deadline

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(row.state for row in self.rows)
        return {state.value: found.get(state, 0) for state in DeadlineState}

    @property
    def to_remind(self) -> list[ProviderDeadline]:
        return [row for row in self.sorted_rows("provider") if row.needs_reminder]

    def sorted_rows(self, sort: str = "", state: str = "") -> list[ProviderDeadline]:
        """The rows in one state (or all), sorted by a SORTS key ('-key' for descending; the default
        puts those still to confirm first)."""
        rows = [row for row in self.rows if not state or row.state == state]
        key = sort.removeprefix("-")
        rows.sort(key=SORTS.get(key, SORTS["state"]), reverse=sort.startswith("-") and key in SORTS)
        return rows


def providers_expected(*, week_start: dt.date) -> QuerySet[Provider]:
    """Every provider expected to confirm the week (module docstring), across providers."""
    running = lines_running_in_week(
        CarePackageLine.objects.filter(provider=OuterRef("pk")), week_start=week_start
    )
    has_lines = ActualLine.objects.filter(provider=OuterRef("pk"), week__week_start=week_start)
    return Provider.objects.filter(
        Q(Exists(running), portal_enabled=True, active=True) | Q(Exists(has_lines))
    ).order_by("name", "ref")


def _board(week_start: dt.date) -> DeadlineBoard:
    closed = calendar.closure_days()
    deadline = calendar.week_deadline(week_start, closed)
    usual = calendar.week_deadline(week_start, ())
    moved_by = list(ClosureDay.objects.filter(day__gte=usual.date(), day__lt=deadline.date()))
    board = DeadlineBoard(week_start, deadline, usual, moved_by)
    providers = list(providers_expected(week_start=week_start))
    weeks = {
        week.provider_id: week
        for week in ProviderWeek.objects.all_providers_for_workers()
        .filter(week_start=week_start, provider__in=providers)
        .select_related("confirmed_by")
    }
    last: dict[int, DeadlineReminder] = {}
    count: Counter[int] = Counter()
    for reminder in (
        DeadlineReminder.objects.all_providers_for_workers()
        .filter(week_start=week_start)
        .select_related("sent_by")
        .order_by("sent_at", "pk")
    ):
        last[reminder.provider_id] = reminder
        count[reminder.provider_id] += 1
    board.rows = [
        ProviderDeadline(provider, weeks.get(provider.pk), last.get(provider.pk), count[provider.pk])
        for provider in providers
    ]
    return board


def deadline_board_for_staff(*, user: User, week_start: dt.date) -> DeadlineBoard:
    """The tracker's page: council staff only (anyone else sees an empty board)."""
    board = _board(week_start)
    if not user.is_council_staff:
        board.rows = []
    return board


def reminder_recipients(provider_ids: list[int]) -> dict[int, list[str]]:
    """Each provider's address and its users' (active, not locked), in one query for the users."""
    found: dict[int, set[str]] = {pk: set() for pk in provider_ids}
    for pk, address in Provider.objects.filter(pk__in=provider_ids).values_list("pk", "email"):
        found[pk].add(address)
    for pk, address in Membership.objects.filter(
        provider_id__in=provider_ids, user__is_active=True, user__locked_at__isnull=True
    ).values_list("provider_id", "user__email"):
        found[pk].add(address)
    return {pk: sorted(addresses - {""}) for pk, addresses in found.items()}


def new_run_token() -> str:
    """The name of a finance officer's run, fixed when the confirmation page is shown."""
    return f"staff:{secrets.token_urlsafe(16)}"


@dataclass
class ReminderRun:
    week_start: dt.date
    run: str
    reminded: list[Provider] = field(default_factory=list)
    recipients: int = 0
    already: int = 0  # reminded by this run before (a repeat)
    no_address: list[Provider] = field(default_factory=list)


def _email(*, row: ProviderDeadline, board: DeadlineBoard) -> tuple[str, str]:
    context = {
        "provider": row.provider,
        "state": row.state,
        "started": row.week is not None,
        "week_label": board.label,
        "week_start": board.week_start,
        "deadline": board.deadline,
        "overdue": board.overdue,
        "week_url": settings.PORTAL_BASE_URL + reverse("actuals_week", kwargs={"week": board.week_start}),
        "council_name": settings.COUNCIL_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
    }
    subject = render_to_string("emails/actuals/deadline_reminder_subject.txt", context).strip()
    return subject, render_to_string("emails/actuals/deadline_reminder.txt", context)


def deadline_reminders_send(
    *, week_start: dt.date, by: User | None, run: str, automatic: bool = False
) -> ReminderRun:
    """Email every expected provider that has not confirmed the week a reminder of its deadline, once per
    run. Each provider's reminder is recorded, audited and queued for email on its own, so one
    failure does not stop the others and a provider that confirms meanwhile is left alone."""
    if not calendar.is_week_start(week_start):
        raise ReminderError("A week starts on a Monday.")
    if not automatic and (by is None or not by.is_council_staff):
        raise ReminderError("Only council staff send reminders.")
    run = run.strip()
    if not run or len(run) > 64:
        raise ReminderError("This reminder page has expired: open it again.")
    board = _board(week_start)
    rows = board.to_remind
    result = ReminderRun(week_start, run)
    addresses = reminder_recipients([row.provider.pk for row in rows])
    done = set(
        DeadlineReminder.objects.all_providers_for_workers()
        .filter(week_start=week_start, run=run)
        .values_list("provider_id", flat=True)
    )
    for row in rows:
        provider, to = row.provider, addresses.get(row.provider.pk, [])
        if provider.pk in done:
            result.already += 1
            continue
        if not to:
            result.no_address.append(provider)
            continue
        with transaction.atomic():
            confirmed = (
                ProviderWeek.objects.for_provider(provider)
                .filter(week_start=week_start)
                .exclude(state=ProviderWeek.State.IN_PROGRESS)
                .exists()
            )
            if confirmed:
                continue
            now = clock.now()
            reminder, created = DeadlineReminder.objects.get_or_create(
                provider=provider,
                week_start=week_start,
                run=run,
                defaults={"sent_at": now, "sent_by": by, "automatic": automatic, "recipients": len(to)},
            )
            if not created:
                result.already += 1
                continue
            ProviderWeek.objects.for_provider(provider).filter(week_start=week_start).update(reminded_at=now)
            audit_record(
                action="actuals.deadline.reminded",
                actor=by,
                obj=reminder,
                provider=provider,
                data={
                    "week_start": week_start.isoformat(),
                    "run": run,
                    "automatic": automatic,
                    "state": row.state.value,
                    "recipients": len(to),
                },
            )
            subject, body = _email(row=row, board=board)
            # Sent by a worker once this commits, each on its own: one address the mail server refuses
            # does not stop the other providers' reminders.
            email_queue(subject=subject, body=body, to=to)
        result.reminded.append(provider)
        result.recipients += len(to)
    logger.info(
        "Deadline reminders for %s (%s): %d sent, %d already, %d without an address",
        week_start,
        run,
        len(result.reminded),
        result.already,
        len(result.no_address),
    )
    return result


def deadline_reminders_automatic(*, slot: str) -> ReminderRun:
    """The scheduled run: the week due, to those who have not confirmed it; once a day per slot."""
    if slot not in AUTOMATIC_SLOTS:
        raise ReminderError(f"Unknown reminder slot {slot!r}.")
    return deadline_reminders_send(
        week_start=calendar.week_due(),
        by=None,
        run=f"auto:{clock.today().isoformat()}:{slot}",
        automatic=True,
    )
