"""The council's own disputes and decisions, beyond the exception review queue: a finance officer disputes
any confirmed actual line of a provider's week (held, sent, accepted, rejected or paid), the whole week, or
an invoice; brokerage confirms or clears a death a provider reported in a query.

Each runs in one transaction, locks what it reads, checks the versions the officer saw (a line corrected
meanwhile refuses the whole request and changes nothing), writes audit events and tells the provider (on
commit). A dispute's outcome is `disputes.services.dispute_resolve`, whatever it is about.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import transaction

from actuals import calendar
from actuals import services as actuals_services
from actuals.models import ActualLine, ProviderWeek
from disputes.models import Message, Team, Thread
from disputes.services import (
    SUBJECT_MAX,
    DisputeError,
    Outcome,
    QueryType,
    State,
    _due,
    _guard_party,
    _locked,
    _open,
    _team,
    _tell_other_side,
    _text,
    _transition,
    dispute_open_on_lines,
    lines_locked,
    lines_subject,
)
from portal import clock
from portal.audit.services import audit_record
from portal.providers.models import Provider, ServiceUser

if TYPE_CHECKING:
    from portal.accounts.models import User
    from remittances.models_invoices import Invoice

LineStatus = ActualLine.Status

# Lines a dispute can be raised on: confirmed, not in a dispute already, not settled as not payable.
DISPUTABLE = frozenset(
    {LineStatus.HELD, LineStatus.SENT, LineStatus.ACCEPTED, LineStatus.REJECTED, LineStatus.PAID}
)
# What "the whole week" is: every confirmed line still payable (one in a dispute already refuses it).
WHOLE_WEEK = DISPUTABLE | {LineStatus.DISPUTED}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def week_fingerprint(lines: Iterable[tuple[int, int]]) -> str:
    """What the officer saw of a whole week: every disputable line and its version (`pk`, `version`
    pairs). A line corrected, added or settled meanwhile changes it."""
    return hashlib.sha256(repr(sorted(lines)).encode()).hexdigest()[:32]


def _guard_staff(user: User) -> None:
    if not user.is_council_staff:
        raise DisputeError("Only council staff can do that.")


def _open_disputes(lines: list[ActualLine]) -> dict[int, str]:
    """The lines among `lines` already in a dispute that is still going (open, or resolved and not yet
    closed, so it can be reopened: one dispute about a line at a time), each with that dispute's reference."""
    found: dict[int, str] = {}
    going = (
        Thread.lines.through.objects.filter(actualline__in=lines, thread__in=Thread.objects.disputes_going())
        .order_by("thread_id")
        .values_list("actualline_id", "thread_id")
    )
    for line_id, thread_id in going:
        found.setdefault(line_id, f"D{thread_id:06d}")
    return found


def _locked_week(user: User, provider: Provider, week_start: dt.date) -> ProviderWeek:
    week = (
        ProviderWeek.objects.for_staff(user)
        .select_for_update(of=("self",))
        .select_related("provider", "confirmed_by")
        .filter(provider=provider, week_start=week_start)
        .order_by()
        .first()
    )
    if week is None or not week.is_confirmed:
        raise DisputeError("Only a confirmed week can be disputed: this one has not been confirmed yet.")
    return week


def _locked_lines(user: User, week: ProviderWeek, pks: Iterable[int] | None = None) -> list[ActualLine]:
    lines = ActualLine.objects.for_staff(user).filter(week=week)
    return lines_locked(lines if pks is None else lines.filter(pk__in=list(pks)))


def _guard_disputable(lines: list[ActualLine]) -> None:
    for line in lines:
        name = line.care_package_line.service_user.name
        if line.status == LineStatus.DRAFT:
            raise DisputeError(f"The line for {name} has not been confirmed yet: nothing was disputed.")
        if line.status == LineStatus.NOT_PAYABLE:
            raise DisputeError(
                f"The line for {name} is not payable already (settled in a dispute): nothing was disputed."
            )
    already = _open_disputes(lines)
    if already:
        line = next(line for line in lines if line.pk in already)
        raise DisputeError(
            f"The line for {line.care_package_line.service_user.name} is already disputed in "
            f"{already[line.pk]}: reply there, or reopen it. Nothing was disputed."
        )


def dispute_raise_on_lines(
    *, user: User, provider: Provider, week_start: dt.date, versions: Mapping[int, int], reason: str
) -> Thread:
    """A finance officer disputes confirmed lines of a provider's week (`versions`: each line and the
    version they saw), whatever the back office has made of them. Lines held for review go back to the
    provider (disputed, not sent); lines already with the back office stay there until the outcome, which
    sends what differs (or, for a line paid meanwhile, a payment adjustment). All or nothing."""
    reason = _text(reason, "the reason for the dispute")
    _guard_staff(user)
    if not versions:
        raise DisputeError("Select at least one line, or choose the whole week")
    with transaction.atomic():
        week = _locked_week(user, provider, week_start)
        lines = _locked_lines(user, week, versions)
        if len(lines) != len(versions):
            raise DisputeError("The lines chosen are not valid: select them again")
        corrected = [line for line in lines if line.version != versions[line.pk]]
        if corrected:
            raise DisputeError(
                f"{len(corrected)} of the lines chosen {'was' if len(corrected) == 1 else 'were'} corrected "
                "by the provider since you opened the page: nothing was disputed. Check the lines again."
            )
        _guard_disputable(lines)
        subject = lines_subject(week, lines)
        return _raise(user=user, week=week, lines=lines, reason=reason, subject=subject, whole_week=False)


def dispute_raise_on_week(
    *, user: User, provider: Provider, week_start: dt.date, fingerprint: str, reason: str
) -> Thread:
    """A finance officer disputes a whole confirmed week: every line of it that is confirmed and payable
    (`WHOLE_WEEK`, as `dispute_raise_on_lines`; a line in a dispute already refuses it: dispute the others
    by selecting them). `fingerprint` is what the page showed (`week_fingerprint`): a line corrected,
    added or settled since refuses the dispute."""
    reason = _text(reason, "the reason for the dispute")
    _guard_staff(user)
    with transaction.atomic():
        week = _locked_week(user, provider, week_start)
        lines = [line for line in _locked_lines(user, week) if line.status in WHOLE_WEEK]
        if week_fingerprint((line.pk, line.version) for line in lines) != fingerprint:
            raise DisputeError(
                "The week changed since you opened the page (a line was corrected, added or settled): "
                "nothing was disputed. Check the lines again."
            )
        if not lines:
            raise DisputeError("The week has no confirmed lines to dispute.")
        _guard_disputable(lines)
        label = calendar.week_label(week.week_start)
        subject = f"{label}: the whole week ({_plural(len(lines), 'line')})"
        return _raise(user=user, week=week, lines=lines, reason=reason, subject=subject, whole_week=True)


def _raise(
    *, user: User, week: ProviderWeek, lines: list[ActualLine], reason: str, subject: str, whole_week: bool
) -> Thread:
    held = {line.pk: line.version for line in lines if line.status == LineStatus.HELD}
    if held:
        actuals_services.lines_dispute(user=user, versions=held, reason=reason)
    for line in lines:
        if line.pk not in held:
            # Its state is the back office's: the dispute is what changes, in the line's history.
            audit_record(
                action="actuals.line.disputed",
                actor=user,
                obj=line,
                provider=line.provider,
                data={"reason": reason, "version": line.version, "status": line.status},
            )
    lines = _locked_lines(user, week, [line.pk for line in lines])  # as the dispute left them
    return dispute_open_on_lines(
        user=user,
        week=week,
        lines=lines,
        reason=reason,
        subject=subject,
        audit_data={"whole_week": whole_week, "held": sorted(held)},
    )


def dispute_raise_on_invoice(*, user: User, invoice: Invoice, reason: str) -> Thread:
    """A finance officer disputes an invoice (children's finance): a thread with its provider about it,
    tied to the invoice and the child, shown on both their pages. Its outcome is a payment adjustment
    (`dispute_resolve`). One dispute about an invoice at a time; a rejected invoice pays nothing and is
    not disputed."""
    from remittances.models_invoices import Invoice as InvoiceModel
    from remittances.models_invoices import SubmissionStatus

    reason = _text(reason, "the reason for the dispute")
    _guard_staff(user)
    with transaction.atomic():
        locked = (
            InvoiceModel.objects.for_staff(user)
            .select_for_update(of=("self",))
            .select_related("provider", "service_user")
            .filter(pk=invoice.pk)
            .first()
        )
        if locked is None:
            raise DisputeError("The invoice is no longer there.")
        if locked.status == SubmissionStatus.REJECTED:
            raise DisputeError("The back office rejected this invoice: nothing is paid on it to dispute.")
        earlier = Thread.objects.disputes_going().filter(invoice_ref=locked.portal_ref).first()
        if earlier is not None:
            raise DisputeError(
                f"This invoice is already disputed in {earlier.ref}: reply there, or reopen it."
            )
        period = f"{locked.period_start:%-d %b %Y} to {locked.period_end:%-d %b %Y}"
        return _open(
            provider=locked.provider,
            kind=Thread.Kind.DISPUTE,
            team=_team(Team.Code.CHILDRENS_FINANCE),
            subject=(f"Invoice {locked.provider_invoice_number}: {locked.service_user.name}, {period}")[
                :SUBJECT_MAX
            ],
            body=reason,
            by=user,
            from_council=True,
            due_on=_due("dispute"),
            invoice_ref=locked.portal_ref,
            person=locked.service_user,
            audit_data={"invoice": locked.portal_ref, "invoice_status": locked.status},
        )


# A reported death: confirmed or cleared from the provider's query ------------------------------------


CONFIRM = "confirm"
CLEAR = "clear"


def _death_query(thread: Thread) -> None:
    if not (
        thread.kind == Thread.Kind.QUERY
        and thread.query_type == QueryType.SERVICE_ENDED
        and thread.died_on is not None
        and thread.person_id is not None
    ):
        raise DisputeError("Only a query reporting a death can confirm or clear one.")


def _recheck(person: ServiceUser, since: dt.date) -> int:
    """Every provider's draft lines of the person from the week of `since` on, checked again (ACT-16)."""
    providers = Provider.objects.filter(care_package_lines__service_user=person).distinct().order_by("pk")
    return sum(
        actuals_services.person_lines_recheck(person=person, since=since, provider=provider)
        for provider in providers
    )


def death_report_decide(*, thread: Thread, by: User, decision: str, answer: str) -> Thread:
    """The council's word on a death a provider reported in a "service ended or person died" query, and
    the query answered with it:

    - **confirm**: the person's record keeps the thread's date as confirmed, and ACT-16 flags every
      provider's lines of the person after it (not only the reporting provider's);
    - **clear** (reported in error): the report is removed from the person, and nobody's lines are flagged
      for it any more.

    Either way the person's draft lines from the week of the date on are checked again, for every provider.
    The back office's own date of death (`deceased_on`) stays the truth: once it has one, neither applies."""
    if decision not in (CONFIRM, CLEAR):
        raise DisputeError("Choose whether to confirm the death or clear the report")
    answer = _text(answer, "your message to the provider")
    with transaction.atomic():
        thread = _locked(thread)
        _guard_party(thread, by, None)
        _death_query(thread)
        if not thread.is_open:
            raise DisputeError(
                f"This query is {thread.get_state_display().lower()}: reopen it to confirm or clear the death."
            )
        assert thread.person_id is not None and thread.died_on is not None  # _death_query
        person = ServiceUser.objects.select_for_update(of=("self",)).get(pk=thread.person_id)
        died_on = thread.died_on
        if person.deceased_on is not None:
            raise DisputeError(
                f"The back office has recorded that {person.name} died on {person.deceased_on:%-d %B %Y}: its "
                "date applies. Answer the query instead."
            )
        reported_here = (
            person.death_reported_on == died_on and person.death_reported_by_id == thread.provider_id
        )
        data: dict[str, Any] = {"died_on": str(died_on), "thread": thread.ref}
        if decision == CONFIRM:
            if person.death_confirmed_at is not None and person.death_reported_on == died_on:
                raise DisputeError(f"The death of {person.name} on {died_on:%-d %B %Y} is confirmed already.")
            since = min(died_on, person.death_reported_on or died_on)
            data["replaced"] = str(person.death_reported_on) if not reported_here else ""
            person.death_reported_on, person.death_reported_by_id = died_on, thread.provider_id
            person.death_confirmed_at, person.death_confirmed_by = clock.now(), by
            said = f"The council has confirmed that {person.name} died on {died_on:%-d %B %Y}."
        else:
            if not reported_here:
                raise DisputeError(
                    f"{person.name}'s record no longer holds this report (another report replaced it, or it "
                    "was cleared): there is nothing to clear. Answer the query instead."
                )
            since = died_on
            data["was_confirmed"] = person.death_confirmed_at is not None
            person.death_reported_on = person.death_reported_by_id = None
            person.death_confirmed_at = person.death_confirmed_by = None
            said = f"The council has cleared the report that {person.name} died: it was made in error."
        person.save(
            update_fields=[
                "death_reported_on",
                "death_reported_by",
                "death_confirmed_at",
                "death_confirmed_by",
                "updated_at",
            ]
        )
        data["lines_checked"] = _recheck(person, since)
        audit_record(
            action="disputes.death.confirmed" if decision == CONFIRM else "disputes.death.cleared",
            actor=by,
            obj=person,
            provider=thread.provider,
            data=data,
        )
        _transition(thread, State.RESOLVED)
        now = clock.now()
        body = f"{said} {answer}"
        thread.outcome, thread.outcome_reason = Outcome.ANSWERED, body
        thread.resolved_at, thread.resolved_by, thread.last_message_at = now, by, now
        thread.save()
        message = Message.objects.create(thread=thread, author=by, from_council=True, body=body, sent_at=now)
        audit_record(
            action="disputes.query.answered",
            actor=by,
            obj=thread,
            provider=thread.provider,
            data={"reason": body, "death": decision},
        )
        _tell_other_side(thread, message)
    return thread
