"""Disputes, queries and their threads: raising, messages, assignment, outcomes, reopening, closing.

Every change runs in one transaction, locks the thread, checks its move against `TRANSITIONS`, writes
an audit event and queues the email that tells the other side (on commit). What a dispute's outcome
sends to the back office is DOMAIN.md's table, in `dispute_resolve`.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse

from actuals import calendar, rules
from actuals import services as actuals_services
from actuals.claim_forms import values_from_data
from actuals.models import ActualLine, ProviderWeek, SentVersion
from contrOCC_sync.models import OutboxMessage
from contrOCC_sync.outbox import outbox_enqueue
from disputes.models import Attachment, Message, PaymentAdjustment, Team, Thread, ThreadRead
from disputes.selectors import COUNCIL_THREADS, threads_of
from portal import cached, clock, files
from portal.accounts.models import Membership
from portal.audit.services import audit_record
from portal.mail.services import email_queue
from portal.providers.models import Provider, ServiceUser

if TYPE_CHECKING:
    from portal.accounts.models import User
    from remittances.models import RemittanceLine

State = Thread.State
Outcome = Thread.Outcome
QueryType = Thread.QueryType
LineStatus = ActualLine.Status

# The life of a thread: from → the states it may go to. A message moves it between the two "waiting"
# states; only the council resolves; either side reopens a resolved thread within REOPEN_DAYS; a
# resolved thread closes once that time has passed (or when the council closes it).
TRANSITIONS: dict[str, frozenset[str]] = {
    State.OPEN: frozenset({State.AWAITING_PROVIDER, State.AWAITING_COUNCIL, State.RESOLVED}),
    State.AWAITING_PROVIDER: frozenset({State.AWAITING_COUNCIL, State.AWAITING_PROVIDER, State.RESOLVED}),
    State.AWAITING_COUNCIL: frozenset({State.AWAITING_PROVIDER, State.AWAITING_COUNCIL, State.RESOLVED}),
    State.RESOLVED: frozenset({State.AWAITING_COUNCIL, State.CLOSED}),
    State.CLOSED: frozenset(),
}

# Each query type's team (DOMAIN.md); payment queries of agencies and foster carers go to children's finance.
QUERY_TEAMS: dict[str, str] = {
    QueryType.SERVICE_LINE_INCORRECT: Team.Code.BROKERAGE,
    QueryType.MISSING_SERVICE_LINE: Team.Code.BROKERAGE,
    QueryType.SERVICE_ENDED: Team.Code.BROKERAGE,
    QueryType.RATE_UPLIFT: Team.Code.BROKERAGE,
    QueryType.PAYMENT_QUERY: Team.Code.PAYMENTS,
    QueryType.SUSPENDED_PAYMENT: Team.Code.PAYMENTS,
    QueryType.INVOICE_QUERY: Team.Code.CHILDRENS_FINANCE,
    QueryType.PORTAL_ACCESS: Team.Code.PORTAL_SUPPORT,
    QueryType.PASSWORD: Team.Code.PORTAL_SUPPORT,
}
CHILDRENS_PAYMENTS = {QueryType.PAYMENT_QUERY, QueryType.SUSPENDED_PAYMENT}

# Days the council has to resolve each kind: a held line's dispute holds up a payment, so it is shortest.
DUE_DAYS: dict[str, int] = {
    "dispute": 5,
    "message": 10,
    QueryType.SERVICE_LINE_INCORRECT: 10,
    QueryType.MISSING_SERVICE_LINE: 10,
    QueryType.SERVICE_ENDED: 5,
    QueryType.RATE_UPLIFT: 20,
    QueryType.PAYMENT_QUERY: 5,
    QueryType.SUSPENDED_PAYMENT: 3,
    QueryType.INVOICE_QUERY: 10,
    QueryType.PORTAL_ACCESS: 2,
    QueryType.PASSWORD: 1,
}
MESSAGE_MAX = 5000
SUBJECT_MAX = 200


class DisputeError(Exception):
    """A change the rules refuse; the message is for the person who asked."""


@dataclass(frozen=True)
class Upload:
    """An attachment as sent (already size-limited by the view's upload handler)."""

    name: str
    data: bytes


ATTACHMENT_TYPES = frozenset({"pdf", "png", "jpg", "gif", "xlsx"})
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
ATTACHMENTS_MAX = 5


# Guards --------------------------------------------------------------------------------------------


def _transition(thread: Thread, to: str) -> None:
    if to not in TRANSITIONS[thread.state]:
        raise DisputeError(
            f"This {thread.get_kind_display().lower()} is {thread.get_state_display().lower()}: it cannot be changed that way."
        )
    thread.state = to


def _text(value: str, what: str, limit: int = MESSAGE_MAX) -> str:
    value = value.strip()
    if not value:
        raise DisputeError(f"Enter {what}")
    if len(value) > limit:
        raise DisputeError(f"{what[0].upper()}{what[1:]} must be {limit:,} characters or fewer")
    return value


def _checked_uploads(uploads: Sequence[Upload]) -> list[tuple[Upload, files.Sniffed]]:
    if len(uploads) > ATTACHMENTS_MAX:
        raise DisputeError(f"Attach at most {ATTACHMENTS_MAX} files to a message")
    checked = []
    for upload in uploads:
        if len(upload.data) > ATTACHMENT_MAX_BYTES:
            raise DisputeError(f"{upload.name} is too big: a file must be smaller than 10 MB")
        sniffed = files.sniff(upload.data, allow=ATTACHMENT_TYPES)
        if sniffed is None:
            raise DisputeError(
                f"{files.clean_name(upload.name, 'file')[:-5]} is not a PDF, an image (PNG, JPEG, GIF) or an "
                "Excel workbook: attach one of those"
            )
        checked.append((upload, sniffed))
    return checked


def _locked(thread: Thread) -> Thread:
    return Thread.objects.select_for_update(of=("self",)).select_related("provider", "team").get(pk=thread.pk)


def _guard_party(thread: Thread, by: User, provider: Provider | None) -> bool:
    """Whether `by` speaks for the council on this thread; refuses anyone who is neither side."""
    if provider is None:
        if not by.is_council_staff:
            raise DisputeError("Only council staff can do that.")
        return True
    if provider.pk != thread.provider_id:
        raise Thread.DoesNotExist  # another provider's thread: not there
    return False


# Raising -------------------------------------------------------------------------------------------


def _team(code: str) -> Team:
    """The team of that code: made by a migration, and made again here if it was ever removed (a team
    is the council's structure, not data a query may fail for want of)."""
    team, _ = Team.objects.get_or_create(code=code, defaults={"name": Team.Code(code).label})
    return team


def _due(kind_or_type: str) -> dt.date:
    return clock.today() + dt.timedelta(days=DUE_DAYS[kind_or_type])


def _open(
    *,
    provider: Provider,
    kind: str,
    team: Team,
    subject: str,
    body: str,
    by: User,
    from_council: bool,
    due_on: dt.date,
    uploads: Sequence[Upload] = (),
    audit_data: Mapping[str, Any] | None = None,
    **about: Any,
) -> Thread:
    """Create the thread and its first message (in the caller's transaction)."""
    subject = _text(subject, "a subject", SUBJECT_MAX)
    body = _text(body, "your message")
    checked = _checked_uploads(uploads)
    lines = about.pop("lines", ())
    now = clock.now()
    thread = Thread.objects.create(
        provider=provider,
        kind=kind,
        team=team,
        subject=subject,
        due_on=due_on,
        raised_by=by,
        raised_at=now,
        raised_by_council=from_council,
        last_message_at=now,
        state=State.AWAITING_PROVIDER if from_council else State.AWAITING_COUNCIL,
        **about,
    )
    if lines:
        thread.lines.set(lines)
    message = Message.objects.create(
        thread=thread, author=by, from_council=from_council, body=body, sent_at=now
    )
    _attach(message, checked)
    ThreadRead.objects.create(thread=thread, user=by, read_at=now)
    audit_record(
        action=f"disputes.{kind}.raised",
        actor=by,
        obj=thread,
        provider=provider,
        data={
            "team": team.code,
            "query_type": thread.query_type,
            "subject": subject,
            "lines": [line.pk for line in lines],
            **(audit_data or {}),
        },
    )
    _tell_other_side(thread, message)
    return thread


def _attach(message: Message, checked: list[tuple[Upload, files.Sniffed]]) -> None:
    for upload, sniffed in checked:
        stored, digest = files.store(upload.data, folder="attachments")
        Attachment.objects.create(
            message=message,
            name=files.clean_name(upload.name, sniffed.extension),
            stored_as=stored,
            content_type=sniffed.content_type,
            size=len(upload.data),
            sha256=digest,
        )


def dispute_raise_on_held_lines(*, user: User, versions: Mapping[int, int], reason: str) -> list[Thread]:
    """A finance officer disputes lines held for review (the exception review queue): the lines go back
    to the provider, in one dispute for each provider's week among them, each with the reason as its
    first message."""
    reason = _text(reason, "the reason for the dispute")
    with transaction.atomic():
        actuals_services.lines_dispute(user=user, versions=versions, reason=reason)
        lines = list(
            ActualLine.objects.for_staff(user)
            .filter(pk__in=list(versions))
            .select_related("week", "provider", "care_package_line__service_user")
            .order_by("week_id", "pk")
        )
        by_week: dict[int, list[ActualLine]] = {}
        for line in lines:
            by_week.setdefault(line.week_id, []).append(line)
        return [
            dispute_open_on_lines(
                user=user,
                week=week_lines[0].week,
                lines=week_lines,
                reason=reason,
                subject=lines_subject(week_lines[0].week, week_lines),
            )
            for week_lines in by_week.values()
        ]


def lines_subject(week: ProviderWeek, lines: Sequence[ActualLine]) -> str:
    """A dispute on lines of a week, named for the inbox: how many, which week, whose."""
    people = ", ".join(sorted({line.care_package_line.service_user.name for line in lines}))
    count = len(lines)
    label = calendar.week_label(week.week_start).lower()
    return f"{count} line{'s' if count != 1 else ''} of the {label}: {people}"


def dispute_open_on_lines(
    *,
    user: User,
    week: ProviderWeek,
    lines: Sequence[ActualLine],
    reason: str,
    subject: str,
    audit_data: Mapping[str, Any] | None = None,
) -> Thread:
    """The thread of a finance officer's dispute on lines of one provider's week (in the caller's
    transaction, the lines already disputed): to the payments team, waiting for the provider, each line
    kept as it was raised (`Thread.lines_as_raised`)."""
    return _open(
        provider=week.provider,
        kind=Thread.Kind.DISPUTE,
        team=_team(Team.Code.PAYMENTS),
        subject=subject[:SUBJECT_MAX],
        body=reason,
        by=user,
        from_council=True,
        due_on=_due("dispute"),
        lines=list(lines),
        week=week,
        lines_as_raised={str(line.pk): line_as_raised(line) for line in lines},
        audit_data=audit_data,
    )


def dispute_raise_on_payment(
    *,
    provider: Provider,
    by: User,
    body: str,
    claimed_amount: Decimal,
    line: ActualLine | None = None,
    remittance_line: RemittanceLine | None = None,
    uploads: Sequence[Upload] = (),
) -> Thread:
    """A provider disputes a payment: a paid actual line or a line of a remittance ("this payment is
    short"), saying what they are owed."""
    if (line is None) == (remittance_line is None):
        raise DisputeError("Choose the payment the dispute is about.")
    if claimed_amount is None or claimed_amount <= 0 or claimed_amount > Decimal("100000"):
        raise DisputeError("Enter the amount you are owed, in pounds, between £0.01 and £100,000")
    if line is not None and (line.provider_id != provider.pk or line.status != LineStatus.PAID):
        raise DisputeError("Only a paid line can be disputed: correct an unpaid line instead.")
    if remittance_line is not None and remittance_line.remittance.provider_id != provider.pk:
        raise Thread.DoesNotExist
    if line is not None:
        what = f"the line for {line.care_package_line.service_user.name}, {calendar.week_label(line.week.week_start).lower()}"
    else:
        assert remittance_line is not None
        what = f"{remittance_line.description or remittance_line.source_ref} on remittance {remittance_line.remittance.ref}"

    team = Team.Code.CHILDRENS_FINANCE if provider.kind != Provider.Kind.ADULT else Team.Code.PAYMENTS
    with transaction.atomic():
        # One dispute about a payment at a time: a double click, or two colleagues, raise it once.
        if line is not None:
            ActualLine.objects.select_for_update(of=("self",)).filter(pk=line.pk).first()
            earlier = Thread.objects.filter(lines=line, kind=Thread.Kind.DISPUTE)
        else:
            assert remittance_line is not None
            type(remittance_line).objects.select_for_update(of=("self",)).filter(
                pk=remittance_line.pk
            ).first()
            earlier = Thread.objects.filter(remittance_line=remittance_line, kind=Thread.Kind.DISPUTE)
        open_one = earlier.exclude(outcome=Outcome.WITHDRAWN).exclude(state=State.CLOSED).first()
        if open_one is not None:
            raise DisputeError(f"This payment is already disputed in {open_one.ref}: reply there.")
        return _open(
            provider=provider,
            kind=Thread.Kind.DISPUTE,
            team=_team(team),
            subject=f"Payment dispute: {what}"[:SUBJECT_MAX],
            body=body,
            by=by,
            from_council=False,
            due_on=_due("dispute"),
            uploads=uploads,
            lines=[line] if line is not None else [],
            remittance_line=remittance_line,
            claimed_amount=claimed_amount,
        )


def query_raise(
    *,
    provider: Provider,
    by: User,
    query_type: str,
    subject: str,
    body: str,
    person: ServiceUser | None = None,
    happened_on: dt.date | None = None,
    line: ActualLine | None = None,
    invoice_ref: str = "",
    uploads: Sequence[Upload] = (),
) -> Thread:
    """A provider's typed query, routed to its team. "Service ended or person died" needs the person and
    the date; a death (`died`) flags the person's later actual lines at once."""
    if query_type not in QUERY_TEAMS:
        raise DisputeError("Choose what your query is about")
    if person is not None and not ServiceUser.objects.for_provider(provider).filter(pk=person.pk).exists():
        raise Thread.DoesNotExist
    if line is not None and line.provider_id != provider.pk:
        raise Thread.DoesNotExist
    about: dict[str, Any] = {
        "query_type": query_type,
        "person": person,
        "invoice_ref": invoice_ref.strip()[:64],
    }
    if line is not None:
        about |= {"lines": [line], "week": line.week}
    code = QUERY_TEAMS[query_type]
    if query_type in CHILDRENS_PAYMENTS and provider.kind != Provider.Kind.ADULT:
        code = Team.Code.CHILDRENS_FINANCE
    with transaction.atomic():
        thread = _open(
            provider=provider,
            kind=Thread.Kind.QUERY,
            team=_team(code),
            subject=subject,
            body=body,
            by=by,
            from_council=False,
            due_on=_due(query_type),
            uploads=uploads,
            **about,
        )
        return thread


@dataclass(frozen=True)
class EndReport:
    died: bool
    on: dt.date


def query_raise_service_ended(
    *,
    provider: Provider,
    by: User,
    person: ServiceUser,
    report: EndReport,
    body: str,
    uploads: Sequence[Upload] = (),
) -> Thread:
    """ "Service ended or person died", with the date. A death is recorded on the person as reported
    (until the back office records it) and their actual lines from that week on are checked again, so
    service recorded after it is flagged (rule ACT-16)."""
    if report.on > clock.today():
        raise DisputeError("The date must be today or in the past")
    what = "died" if report.died else "service ended"
    with transaction.atomic():
        thread = query_raise(
            provider=provider,
            by=by,
            query_type=QueryType.SERVICE_ENDED,
            subject=f"{person.name}: {what} on {report.on:%-d %B %Y}",
            body=body,
            person=person,
            uploads=uploads,
        )
        thread.died_on = report.on if report.died else None
        thread.service_ended_on = None if report.died else report.on
        thread.save(update_fields=["died_on", "service_ended_on"])
        if report.died:
            death_report_record(person=person, died_on=report.on, by=by, provider=provider)
        return thread


def death_report_record(*, person: ServiceUser, died_on: dt.date, by: User, provider: Provider) -> int:
    """Keep a reported death on the person and check their draft lines of that week and later again;
    returns how many lines were checked. A death the council has confirmed stays as confirmed (its
    date flags every provider's lines already): the new report waits in its query, from which the
    council can confirm its date instead."""
    person = ServiceUser.objects.select_for_update(of=("self",)).get(pk=person.pk)
    confirmed = person.death_confirmed_at is not None
    audit_record(
        action="disputes.death.reported",
        actor=by,
        obj=person,
        provider=provider,
        data={"died_on": str(died_on), "kept_confirmed": str(person.death_reported_on) if confirmed else ""},
    )
    if confirmed:
        return 0
    ServiceUser.objects.filter(pk=person.pk).update(death_reported_on=died_on, death_reported_by=provider)
    person.death_reported_on, person.death_reported_by = died_on, provider
    return actuals_services.person_lines_recheck(person=person, since=died_on, provider=provider)


def thread_start_by_council(
    *, user: User, provider: Provider, team: Team, subject: str, body: str, uploads: Sequence[Upload] = ()
) -> Thread:
    """Council staff start a thread with a provider."""
    if not user.is_council_staff:
        raise DisputeError("Only council staff can do that.")
    with transaction.atomic():
        return _open(
            provider=provider,
            kind=Thread.Kind.MESSAGE,
            team=team,
            subject=subject,
            body=body,
            by=user,
            from_council=True,
            due_on=_due("message"),
            uploads=uploads,
        )


# Messages ------------------------------------------------------------------------------------------


def message_send(
    *, thread: Thread, by: User, body: str, provider: Provider | None, uploads: Sequence[Upload] = ()
) -> Message:
    """A reply. `provider`: the provider `by` acts for (None for council staff). It moves the thread to
    waiting for the other side; a resolved or closed thread takes no reply (reopen it first)."""
    body = _text(body, "your message")
    checked = _checked_uploads(uploads)
    with transaction.atomic():
        thread = _locked(thread)
        from_council = _guard_party(thread, by, provider)
        if not thread.is_open:
            raise DisputeError(
                f"This {thread.get_kind_display().lower()} is {thread.get_state_display().lower()}: "
                + (
                    "reopen it to reply."
                    if thread.state == State.RESOLVED and reopen_until(thread) >= clock.now()
                    else "start a new query instead."
                )
            )
        _transition(thread, State.AWAITING_PROVIDER if from_council else State.AWAITING_COUNCIL)
        now = clock.now()
        thread.last_message_at = now
        thread.save(update_fields=["state", "last_message_at"])
        message = Message.objects.create(
            thread=thread, author=by, from_council=from_council, body=body, sent_at=now
        )
        _attach(message, checked)
        ThreadRead.objects.update_or_create(thread=thread, user=by, defaults={"read_at": now})
        audit_record(
            action="disputes.message.sent",
            actor=by,
            obj=thread,
            provider=thread.provider,
            data={"message": message.pk, "attachments": len(checked), "state": thread.state},
        )
        _tell_other_side(thread, message)
    return message


def thread_read(*, thread: Thread, user: User) -> None:
    """`user` has read the thread up to now (its unread count and the read receipts)."""
    ThreadRead.objects.update_or_create(thread=thread, user=user, defaults={"read_at": clock.now()})
    threads_changed(thread)


def thread_assign(*, thread: Thread, by: User, assignee: User | None) -> Thread:
    if not by.is_council_staff or (assignee is not None and not assignee.is_council_staff):
        raise DisputeError("Threads are assigned to council staff.")
    with transaction.atomic():
        thread = _locked(thread)
        if assignee is not None and not thread.team.members.filter(pk=assignee.pk).exists():
            raise DisputeError(
                f"{assignee.get_full_name() or assignee.email} is not in the {thread.team.name} team."
            )
        thread.assignee = assignee
        thread.save(update_fields=["assignee"])
        audit_record(
            action="disputes.thread.assigned",
            actor=by,
            obj=thread,
            provider=thread.provider,
            data={"assignee": assignee.email if assignee else ""},
        )
    return thread


# Outcomes ------------------------------------------------------------------------------------------


def dispute_resolve(
    *,
    thread: Thread,
    by: User,
    outcome: str,
    reason: str,
    quantities: Mapping[int, actuals_services.LineValues] | None = None,
    amount: Decimal | None = None,
    versions: Mapping[int, int] | None = None,
) -> Thread:
    """The finance officer's outcome (DOMAIN.md, "What a dispute's outcome does"):

    - about actual lines (raised by the council: held for review, any confirmed line, a whole week):
      **withdrawn** sends them as confirmed; **upheld** sends a version with nothing payable where the back
      office has had a version, else nothing (the line is not payable); **adjusted** sends a new version
      with the agreed `quantities` (line → values). A line the back office has paid meanwhile takes no new
      version: a payment adjustment puts its money right instead (`_lines_outcome`);
    - about an invoice (raised by the council): a payment adjustment for what the invoice should have paid
      (nothing when upheld, the agreed `amount` when adjusted), once the back office has decided on it;
    - about a payment (a paid line, a remittance line, raised by the provider): **upheld** sends a payment
      adjustment for the amount claimed, **adjusted** one for the agreed `amount`, **withdrawn** nothing.

    A dispute reopened after its outcome keeps what was sent: a new outcome sends only the difference.
    """
    reason = _text(reason, "the reason for the outcome")
    if outcome not in (Outcome.UPHELD, Outcome.WITHDRAWN, Outcome.ADJUSTED):
        raise DisputeError("Choose the outcome")
    with transaction.atomic():
        thread = _locked(thread)
        _guard_party(thread, by, None)
        if thread.kind != Thread.Kind.DISPUTE:
            raise DisputeError("Only a dispute has an outcome: answer a query instead.")
        _transition(thread, State.RESOLVED)
        lines = lines_locked(thread.lines.all())
        changed = [
            line
            for line in lines
            if versions is not None and versions.get(line.pk, line.version) != line.version
        ]
        if changed:
            raise DisputeError(
                "A line of the dispute was corrected after you opened the page: check the figures again."
            )
        sent: dict[str, Any] = {}
        if is_about_payment(thread):
            sent = _payment_outcome(thread, by=by, outcome=outcome, reason=reason, amount=amount)
        elif is_about_invoice(thread):
            sent = _invoice_outcome(thread, by=by, outcome=outcome, reason=reason, amount=amount)
        else:
            sent = _lines_outcome(
                thread, lines, by=by, outcome=outcome, reason=reason, quantities=quantities or {}
            )
        now = clock.now()
        thread.outcome, thread.outcome_reason = outcome, reason
        thread.resolved_at, thread.resolved_by, thread.last_message_at = now, by, now
        thread.save()
        message = Message.objects.create(
            thread=thread, author=by, from_council=True, sent_at=now,
            body=f"Outcome: {thread.get_outcome_display().lower()}. {reason}",
        )  # fmt: skip
        audit_record(
            action="disputes.dispute.resolved",
            actor=by,
            obj=thread,
            provider=thread.provider,
            data={"outcome": outcome, "reason": reason, **sent},
        )
        _tell_other_side(thread, message)
    return thread


def lines_locked(lines: QuerySet[ActualLine]) -> list[ActualLine]:
    """`lines` locked in one order (their rows only), with what a dispute's outcome reads and sends."""
    return list(
        lines.select_for_update(of=("self",))
        .select_related(
            "provider",
            "week__provider",
            "week__confirmed_by",
            "care_package_line__service_type",
            "care_package_line__service_user",
        )
        .order_by("pk")
    )


def is_about_payment(thread: Thread) -> bool:
    """A provider's dispute of a payment (a paid line or a remittance line): settled in money."""
    return thread.remittance_line_id is not None or thread.claimed_amount is not None


def is_about_invoice(thread: Thread) -> bool:
    """The council's dispute of an invoice: settled in money once the back office has decided on it."""
    return thread.kind == Thread.Kind.DISPUTE and thread.raised_by_council and bool(thread.invoice_ref)


def line_as_raised(line: ActualLine) -> dict[str, Any]:
    """What a dispute keeps of a line when it is raised (`Thread.lines_as_raised`): what withdrawn puts
    back if an earlier outcome of the same dispute changed it."""
    return {
        "version": line.version,
        "amount": str(line.amount),
        "values": actuals_services.LineValues.of(line).as_data(),
    }


def _paid_on_plan(line: ActualLine) -> bool:
    from portal.providers.models import ServiceType

    return line.care_package_line.service_type.paid_on == ServiceType.PaidOn.PLAN


def _amount_at(line: ActualLine, values: actuals_services.LineValues) -> Decimal:
    """What `values` pay on the line at its rate, under the line's rules (a blocking rule refuses them)."""
    judged = copy.copy(line)
    for field in dataclasses.fields(values):
        setattr(judged, field.name, getattr(values, field.name))
    blocking = [f for f in actuals_services.findings_for([judged])[line.pk] if f.severity == rules.BLOCKING]
    if blocking:
        raise actuals_services.ActualsError(
            f"{line.care_package_line.service_user.name}: {blocking[0].message}"
        )
    return actuals_services.line_amount(judged)


def _lines_outcome(
    thread: Thread,
    lines: list[ActualLine],
    *,
    by: User,
    outcome: str,
    reason: str,
    quantities: Mapping[int, actuals_services.LineValues],
) -> dict[str, Any]:
    """A council dispute on lines settled, line by line, by what the back office holds of each now:

    - **held back** (disputed, or not payable and never sent at its version): withdrawn sends it as
      confirmed; upheld makes it not payable (or sends a version with nothing payable where an earlier
      version was sent); adjusted sends the agreed values as a new version;
    - **with the back office, unpaid** (sent, accepted, rejected, or not payable after its money was
      recovered): withdrawn leaves it (or, when an earlier outcome of this dispute changed it, sends it as
      it was raised); upheld sends a version with nothing payable; adjusted sends the agreed values as a
      new version (nothing, if they are the line's own). The back office pays or recovers the difference
      between versions, whether or not it paid the earlier one meanwhile;
    - **paid** (the portal sends no version of a paid line): a payment adjustment for the difference between
      what it paid and what the outcome says is owed (nothing, upheld; the agreed values, adjusted; the
      line as it was, withdrawn).

    A line paid on its plan pays the plan whatever is recorded, so upheld recovers what the back office
    holds of it with a payment adjustment and marks it not payable. A dispute reopened after its outcome
    sends only the difference: the payment adjustments this dispute already sent on a line are counted
    (and undone where a new version now carries the money)."""
    held = [line for line in lines if line.status == LineStatus.HELD]
    if held:
        raise DisputeError(
            f"The provider corrected the line for {held[0].care_package_line.service_user.name} and it waits "
            "in the exception review queue: approve it or dispute it there first."
        )
    if not lines:
        raise DisputeError("The dispute has no lines to settle.")
    if outcome == Outcome.ADJUSTED:
        if not thread.messages.filter(from_council=False).exists():
            raise DisputeError("The provider has not answered yet: agree the figures in the thread first.")
        if any(line.pk not in quantities for line in lines):
            raise DisputeError("Enter the agreed quantities for every line of the dispute")
    why = f"Dispute {thread.ref} {outcome}: {reason}"
    sent_versions: dict[int, dict[int, Decimal]] = {}
    held_by_back_office: dict[int, Decimal] = {}  # the amount of its latest version it did not reject
    for line_id, version, sent_amount, status in (
        SentVersion.objects.filter(line__in=lines)
        .order_by("line_id", "version")
        .values_list("line_id", "version", "amount", "status")
    ):
        sent_versions.setdefault(line_id, {})[version] = sent_amount
        if status != SentVersion.Status.REJECTED:
            held_by_back_office[line_id] = sent_amount
    so_far: dict[str, Decimal] = {}
    for applies_to, adjusted in thread.adjustments.exclude(
        status=PaymentAdjustment.Status.REJECTED
    ).values_list("applies_to", "amount"):
        so_far[applies_to] = so_far.get(applies_to, Decimal("0.00")) + adjusted
    raised: dict[str, Any] = dict(thread.lines_as_raised or {})

    result: dict[str, list[Any]] = {
        "sent": [], "new_versions": [], "sent_nothing_payable": [], "not_payable": [], "adjustments": [],
        "recovered": [], "unchanged": [],
    }  # fmt: skip
    release: list[ActualLine] = []
    settle: dict[int, actuals_services.LineValues] = {}
    nothing_payable: list[ActualLine] = []
    recover: list[ActualLine] = []
    money: dict[int, Decimal] = {}  # line → the total of this dispute's adjustments it should come to

    for line in lines:
        versions_sent = sent_versions.get(line.pk, {})
        at_back_office = line.version in versions_sent
        kept: dict[str, Any] = raised.get(str(line.pk)) or {}
        changed_by_us = kept.get("settled_version") == line.version
        if line.status == LineStatus.PAID:
            paid = versions_sent.get(line.version, line.amount)
            if outcome == Outcome.UPHELD:
                owed = Decimal("0.00")
            elif outcome == Outcome.ADJUSTED:
                owed = _amount_at(line, quantities[line.pk])
            else:
                owed = Decimal(kept["amount"]) if changed_by_us else paid
            money[line.pk] = owed - paid
            continue
        held_back = line.status == LineStatus.DISPUTED or (
            line.status == LineStatus.NOT_PAYABLE and not at_back_office
        )
        recovered = line.status == LineStatus.NOT_PAYABLE and at_back_office
        if outcome == Outcome.WITHDRAWN:
            if changed_by_us:
                settle[line.pk] = values_from_data(kept["values"])
            elif held_back:
                release.append(line)
            elif recovered:
                settle[line.pk] = actuals_services.LineValues.of(line)  # the money goes by version again
            money[line.pk] = Decimal("0.00")
        elif outcome == Outcome.ADJUSTED:
            agreed = quantities[line.pk]
            if agreed != actuals_services.LineValues.of(line) or recovered:
                settle[line.pk] = agreed
            elif held_back:
                release.append(line)
            money[line.pk] = Decimal("0.00")
        elif _paid_on_plan(line) and versions_sent:
            # The plan is paid whatever is recorded: recover what the back office holds of the line.
            money[line.pk] = -held_by_back_office.get(line.pk, Decimal("0.00"))
            if line.status != LineStatus.NOT_PAYABLE:
                recover.append(line)
        elif line.status == LineStatus.NOT_PAYABLE or (line.amount == 0 and not held_back):
            money[line.pk] = Decimal("0.00")  # nothing payable already
        else:
            nothing_payable.append(line)
            money[line.pk] = Decimal("0.00")

    if release:
        actuals_services.lines_release(lines=release, why=why)
        result["sent"] = [line.pk for line in release]
    if settle:
        to_settle = [line for line in lines if line.pk in settle]
        actuals_services.lines_settle(lines=to_settle, values=settle, by=by, reason=why)
        result["new_versions"] = [line.pk for line in to_settle]
    if nothing_payable:
        done = actuals_services.lines_not_payable(lines=nothing_payable, by=by, reason=why)
        result["sent_nothing_payable"] = done["sent_nothing_payable"]
        result["not_payable"] = done["not_payable"]
    if recover:
        actuals_services.lines_recovered(lines=recover, by=by, reason=why)
    for line in lines:
        delta = money[line.pk] - so_far.get(str(line.pk), Decimal("0.00"))
        if delta:
            adjustment = _adjustment_send(thread, by=by, amount=delta, reason=why, applies_to=str(line.pk))
            result["adjustments"].append(adjustment.portal_ref)
            if line in recover:
                result["recovered"].append(adjustment.portal_ref)
        touched = line in release or line.pk in settle or line in nothing_payable or line in recover
        if not touched and not delta:
            result["unchanged"].append(line.pk)
        snapshot = raised.get(str(line.pk))
        if snapshot is not None:
            if outcome == Outcome.WITHDRAWN:
                snapshot.pop("settled_version", None)  # the line is as it was raised again
            elif line.pk in settle or line.pk in result["sent_nothing_payable"]:
                snapshot["settled_version"] = line.version
    thread.lines_as_raised = raised
    return result


def _invoice_outcome(
    thread: Thread, *, by: User, outcome: str, reason: str, amount: Decimal | None
) -> dict[str, Any]:
    """A council dispute on an invoice, settled in money (the back office takes no new version of an
    invoice): upheld recovers what it pays on the invoice, adjusted pays the agreed `amount` for it in all,
    withdrawn leaves it as invoiced. An invoice the back office rejected pays nothing, so nothing is owed
    back; one it has not decided on yet cannot be settled but withdrawn. Only the difference from what this
    dispute has already sent goes."""
    from remittances.models import RemittanceLine
    from remittances.models_invoices import Invoice, SubmissionStatus

    invoice = (
        Invoice.objects.for_provider(thread.provider)
        .select_for_update(of=("self",))
        .filter(portal_ref=thread.invoice_ref)
        .first()
    )
    if invoice is None:
        raise DisputeError("The invoice of this dispute is no longer there.")
    undecided = invoice.status in (SubmissionStatus.SENT, SubmissionStatus.RECEIVED)
    if undecided and outcome != Outcome.WITHDRAWN:
        raise DisputeError(
            f"The back office has not decided on invoice {invoice.provider_invoice_number} yet: record the "
            "outcome once it has accepted or rejected it (its page shows which)."
        )
    target = Decimal("0.00")
    if outcome == Outcome.ADJUSTED and (amount is None or amount < 0 or amount > Decimal("100000")):
        raise DisputeError("Enter the agreed amount for the invoice, in pounds, from £0 to £100,000")
    if invoice.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.PAID):
        if outcome == Outcome.UPHELD:
            target = -invoice.total
        elif outcome == Outcome.ADJUSTED:
            assert amount is not None
            target = amount - invoice.total
    delta = target - _adjustments_so_far(thread)
    if delta == 0:
        return {"adjustment": "", "amount": "0.00", "invoice_status": invoice.status}
    paid_by = (
        RemittanceLine.objects.filter(remittance__provider=thread.provider, portal_ref=invoice.portal_ref)
        .values_list("source_ref", flat=True)
        .first()
    )
    adjustment = _adjustment_send(
        thread,
        by=by,
        amount=delta,
        reason=f"Dispute {thread.ref} {outcome}: {reason}",
        applies_to=paid_by or invoice.portal_ref,
    )
    return {"adjustment": adjustment.portal_ref, "amount": str(delta), "invoice_status": invoice.status}


def _adjustments_so_far(thread: Thread) -> Decimal:
    rejected = PaymentAdjustment.Status.REJECTED
    amounts = thread.adjustments.exclude(status=rejected).values_list("amount", flat=True)
    return sum(amounts, Decimal("0.00"))


def _payment_outcome(
    thread: Thread, *, by: User, outcome: str, reason: str, amount: Decimal | None
) -> dict[str, Any]:
    """What the provider is owed, less what this dispute has already sent (a reopened dispute resolved
    again sends only the difference; withdrawn after an upheld outcome recovers it)."""
    target = Decimal("0.00")
    if outcome == Outcome.UPHELD:
        target = thread.claimed_amount or Decimal("0.00")
    elif outcome == Outcome.ADJUSTED:
        if amount is None or amount == 0 or abs(amount) > Decimal("100000"):
            raise DisputeError("Enter the agreed amount, in pounds (negative to recover money)")
        target = amount
    delta = target - _adjustments_so_far(thread)
    if delta == 0:
        return {"adjustment": "", "amount": "0.00"}
    applies_to = (
        thread.remittance_line.source_ref
        if thread.remittance_line is not None
        else str(thread.lines.values_list("pk", flat=True).first() or "")
    )
    adjustment = _adjustment_send(thread, by=by, amount=delta, reason=reason, applies_to=applies_to)
    return {"adjustment": adjustment.portal_ref, "amount": str(delta)}


def _adjustment_send(
    thread: Thread, *, by: User, amount: Decimal, reason: str, applies_to: str
) -> PaymentAdjustment:
    adjustment = PaymentAdjustment.objects.create(
        thread=thread,
        provider=thread.provider,
        portal_ref=f"ADJ-{uuid.uuid4().hex[:12].upper()}",
        amount=amount,
        reason=reason,
        applies_to=applies_to,
        created_at=clock.now(),
        created_by=by,
    )
    outbox_enqueue(
        kind=OutboxMessage.Kind.ADJUSTMENT,
        provider=thread.provider,
        summary=f"Payment adjustment {adjustment.portal_ref} for dispute {thread.ref}: £{amount}",
        body={
            "portal_ref": adjustment.portal_ref,
            "provider_ref": thread.provider.ref,
            "amount": str(amount),
            "reason": reason,
            "dispute_ref": thread.ref,
            "applies_to": applies_to,
        },
    )
    return adjustment


def dispute_withdraw_by_provider(*, thread: Thread, by: User, provider: Provider, reason: str) -> Thread:
    """A provider withdraws its own payment dispute (DOMAIN.md: withdrawn, by the provider or the officer)."""
    reason = _text(reason, "why you are withdrawing it")
    with transaction.atomic():
        thread = _locked(thread)
        _guard_party(thread, by, provider)
        if thread.kind != Thread.Kind.DISPUTE or thread.raised_by_council:
            raise DisputeError("Only a dispute you raised can be withdrawn by you.")
        _transition(thread, State.RESOLVED)
        sent = _payment_outcome(thread, by=by, outcome=Outcome.WITHDRAWN, reason=reason, amount=None)
        now = clock.now()
        thread.outcome, thread.outcome_reason = Outcome.WITHDRAWN, reason
        thread.resolved_at, thread.resolved_by, thread.last_message_at = now, by, now
        thread.save()
        message = Message.objects.create(
            thread=thread, author=by, from_council=False, body=f"Withdrawn: {reason}", sent_at=now
        )
        audit_record(
            action="disputes.dispute.withdrawn",
            actor=by,
            obj=thread,
            provider=provider,
            data={"reason": reason, **sent},
        )
        _tell_other_side(thread, message)
    return thread


def query_answer(*, thread: Thread, by: User, reason: str) -> Thread:
    """The council answers a query (or a message thread): resolved, with the answer as its last message."""
    reason = _text(reason, "the answer")
    with transaction.atomic():
        thread = _locked(thread)
        _guard_party(thread, by, None)
        if thread.kind == Thread.Kind.DISPUTE:
            raise DisputeError("A dispute is resolved with an outcome.")
        _transition(thread, State.RESOLVED)
        now = clock.now()
        thread.outcome, thread.outcome_reason = Outcome.ANSWERED, reason
        thread.resolved_at, thread.resolved_by, thread.last_message_at = now, by, now
        thread.save()
        message = Message.objects.create(
            thread=thread, author=by, from_council=True, body=reason, sent_at=now
        )
        audit_record(
            action="disputes.query.answered",
            actor=by,
            obj=thread,
            provider=thread.provider,
            data={"reason": reason},
        )
        _tell_other_side(thread, message)
    return thread


def reopen_until(thread: Thread) -> dt.datetime:
    assert thread.resolved_at is not None
    return thread.resolved_at + dt.timedelta(days=settings.DISPUTE_REOPEN_DAYS)


def thread_reopen(*, thread: Thread, by: User, provider: Provider | None, reason: str) -> Thread:
    """Either side reopens a resolved thread within DISPUTE_REOPEN_DAYS, with a reason. A dispute's outcome
    already sent stays sent: a new outcome sends what differs."""
    reason = _text(reason, "why you are reopening it")
    with transaction.atomic():
        thread = _locked(thread)
        from_council = _guard_party(thread, by, provider)
        if thread.state == State.RESOLVED and reopen_until(thread) < clock.now():
            raise DisputeError(
                f"It can be reopened for {settings.DISPUTE_REOPEN_DAYS} days after it was resolved: start a new one instead."
            )
        _transition(thread, State.AWAITING_COUNCIL)
        now = clock.now()
        thread.outcome, thread.resolved_at, thread.resolved_by, thread.last_message_at = "", None, None, now
        thread.due_on = _due(
            "dispute" if thread.kind == Thread.Kind.DISPUTE else thread.query_type or "message"
        )
        thread.save()
        message = Message.objects.create(
            thread=thread, author=by, from_council=from_council, body=f"Reopened: {reason}", sent_at=now
        )
        audit_record(
            action="disputes.thread.reopened",
            actor=by,
            obj=thread,
            provider=thread.provider,
            data={"reason": reason},
        )
        _tell_other_side(thread, message)
    return thread


def threads_close_resolved() -> int:
    """Close every thread resolved longer ago than the reopening allows (the beat, daily)."""
    cutoff = clock.now() - dt.timedelta(days=settings.DISPUTE_REOPEN_DAYS)
    closed = 0
    for pk in (
        Thread.objects.all_providers_for_workers()
        .filter(state=State.RESOLVED, resolved_at__lt=cutoff)
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            thread = Thread.objects.select_for_update(of=("self",)).select_related("provider").get(pk=pk)
            if thread.state != State.RESOLVED:
                continue
            _transition(thread, State.CLOSED)
            thread.closed_at = clock.now()
            thread.save(update_fields=["state", "closed_at"])
            audit_record(
                action="disputes.thread.closed", actor=None, obj=thread, provider=thread.provider, data={}
            )
            closed += 1
    return closed


def adjustment_status_apply(*, portal_ref: str, status: str, reason: str) -> bool:
    """The back office's word on a payment adjustment (its submission events)."""
    if status not in PaymentAdjustment.Status.values:
        return False
    with transaction.atomic():
        adjustment = (
            PaymentAdjustment.objects.select_for_update(of=("self",))
            .filter(portal_ref=portal_ref)
            .select_related("provider")
            .first()
        )
        if adjustment is None or adjustment.status in (status, PaymentAdjustment.Status.PAID):
            return False
        adjustment.status, adjustment.status_reason = status, reason
        adjustment.save(update_fields=["status", "status_reason"])
        audit_record(
            action=f"disputes.adjustment.{status}",
            actor=None,
            obj=adjustment,
            provider=adjustment.provider,
            data={"reason": reason},
        )
    return True


def team_update(*, team: Team, by: User, email: str, members: Sequence[User]) -> Team:
    """A portal administrator sets a team's mailbox and members (council staff only)."""
    if any(not member.is_council_staff for member in members):
        raise DisputeError("Only council staff can be members of a team.")
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        before = sorted(team.members.values_list("email", flat=True))
        team.email = email.strip()
        team.save(update_fields=["email"])
        team.members.set(members)
        cached.changed(COUNCIL_THREADS)  # staff's unread counts follow their teams
        audit_record(
            action="disputes.team.updated",
            actor=by,
            obj=team,
            data={"email": team.email, "members_before": before, "members": sorted(m.email for m in members)},
        )
    return team


# Telling the other side ------------------------------------------------------------------------------


def threads_changed(thread: Thread) -> None:
    """The unread counts that count `thread` are computed again (disputes.selectors.unread_count): on both
    sides, since a message or a read changes one side's count and the other's is cheap to recompute."""
    cached.changed(threads_of(thread.provider_id), COUNCIL_THREADS)


def _tell_other_side(thread: Thread, message: Message) -> None:
    """An email to the side that did not write the message, with a link back (never its content: the
    message may hold personal details, and email is not secure); and the unread counts, which it changes."""
    threads_changed(thread)
    if message.from_council:
        users = Membership.objects.filter(provider=thread.provider, user__is_active=True).values_list(
            "user__email", flat=True
        )
        recipients = sorted({thread.provider.email, *users} - {""})
        link = reverse("thread", kwargs={"pk": thread.pk})
    else:
        members = (
            [thread.assignee.email]
            if thread.assignee
            else list(thread.team.members.filter(is_active=True).values_list("email", flat=True))
        )
        recipients = sorted({thread.team.email, *members} - {""})
        link = reverse("council_thread", kwargs={"pk": thread.pk})
    if not recipients:
        return
    context = {
        "thread": thread,
        "message": message,
        "council_name": settings.COUNCIL_NAME,
        "url": f"{settings.PORTAL_BASE_URL}{link}",
    }
    subject = render_to_string("emails/disputes/new_message_subject.txt", context).strip()
    body = render_to_string("emails/disputes/new_message.txt", context)
    email_queue(subject=subject, body=body, to=recipients)
