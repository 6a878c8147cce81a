"""The weekly actuals cycle: generate, amend, acknowledge, confirm, correct, review, and the back office's
decisions coming back. Views, forms, tasks and commands only call these.

Every state change runs in one transaction, locks what it changes, checks its preconditions with guards
that raise `ActualsError` (a message for the user), writes an audit event, and enqueues what follows
(the outbox message, the receipt email) on commit.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string

from actuals import calendar, rules
from actuals.models import ActualLine, LineException, ProviderWeek
from contrOCC_sync.models import OutboxMessage
from contrOCC_sync.outbox import outbox_enqueue
from portal import clock
from portal.audit.services import audit_record
from portal.money import ZERO, round_money, round_to_step
from portal.providers.models import CarePackageLine, Provider, ServiceType

if TYPE_CHECKING:
    from portal.accounts.models import User

logger = logging.getLogger(__name__)

NIL_RETURN_COMMENT = "No service this week (nil return)."
SUBMISSION_CHUNK = 2000  # lines a submission (the back office takes at most 5,000)
Status = ActualLine.Status

# The life of an actual line (DOMAIN.md, "The life of a week and its lines"): from → the states it may go to.
LINE_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.SENT, Status.HELD}),  # confirmed: sent at once, or held for review
    Status.HELD: frozenset({Status.SENT, Status.DISPUTED, Status.HELD}),  # approved, disputed, corrected
    Status.DISPUTED: frozenset({Status.SENT}),  # the dispute's outcome (issue #7)
    Status.SENT: frozenset({Status.ACCEPTED, Status.REJECTED, Status.SENT, Status.HELD}),
    Status.ACCEPTED: frozenset({Status.PAID, Status.SENT, Status.HELD, Status.REJECTED}),
    Status.REJECTED: frozenset({Status.SENT, Status.HELD, Status.ACCEPTED}),
    Status.PAID: frozenset(),
}


class ActualsError(Exception):
    """A change the rules refuse; the message is for the person who asked."""


def _transition(line: ActualLine, to: str) -> None:
    if to not in LINE_TRANSITIONS[line.status]:
        raise ActualsError(
            f"The line for {line.care_package_line.service_user.name} is {line.get_status_display().lower()}: "
            "it cannot be changed that way."
        )
    line.status = to


# What is paid ------------------------------------------------------------------------------------


def planned_for_week(*, line: CarePackageLine, week_start: dt.date) -> Decimal:
    """The week's plan: pro-rated by days active where the line starts or ends within the week, rounded
    to the nearest unit step, half up (DOMAIN.md, "What is paid")."""
    days = calendar.days_active(start_date=line.start_date, end_date=line.end_date, week_start=week_start)
    if days == 7:
        return line.planned_per_week
    return round_to_step(line.planned_per_week * days / 7, line.service_type.step)


def paid_quantity(
    *,
    service_type: ServiceType,
    planned: Decimal,
    delivered: Decimal,
    frustrated: Decimal,
    extra: Decimal,
    adjustment_form_ref: str,
) -> Decimal:
    """Actuals pay delivered + frustrated (+ extra with an adjustment reference, where allowed); plan pays
    the week's plan (+ the same extra); missed is never paid."""
    paid_extra = extra if extra and service_type.allows_extras and adjustment_form_ref.strip() else ZERO
    if service_type.paid_on == ServiceType.PaidOn.PLAN:
        return planned + paid_extra
    return delivered + frustrated + paid_extra


def line_amount(line: ActualLine) -> Decimal:
    """The line's amount at its care package line's rate, rounded once, half up to the penny."""
    quantity = paid_quantity(
        service_type=line.care_package_line.service_type,
        planned=line.planned,
        delivered=line.delivered,
        frustrated=line.frustrated,
        extra=line.extra,
        adjustment_form_ref=line.adjustment_form_ref,
    )
    return round_money(quantity * line.rate)


def _refresh_from_plan(line: ActualLine, *, prefill: bool) -> None:
    """Take the plan and rate from the care package line as it is now; `prefill` resets the quantities."""
    cpl = line.care_package_line
    line.planned = planned_for_week(line=cpl, week_start=line.week.week_start)
    line.rate = cpl.rate
    line.care_package_line_version = cpl.version
    if prefill:
        line.delivered = ZERO if cpl.status == CarePackageLine.Status.SUSPENDED else line.planned
        line.frustrated = line.missed = line.extra = ZERO
    line.amount = line_amount(line)


# Exceptions --------------------------------------------------------------------------------------


def line_facts(line: ActualLine, *, duplicate_of: str = "") -> rules.LineFacts:
    cpl = line.care_package_line
    return rules.LineFacts(
        week_start=line.week.week_start,
        planned=line.planned,
        delivered=line.delivered,
        frustrated=line.frustrated,
        missed=line.missed,
        extra=line.extra,
        adjustment_form_ref=line.adjustment_form_ref,
        comment=line.comment,
        no_service=line.no_service,
        service_type=cpl.service_type,
        care_package_line=cpl,
        person=cpl.service_user,
        duplicate_of=duplicate_of,
    )


def findings_for(lines: Sequence[ActualLine]) -> dict[int, list[rules.Finding]]:
    """The rules each line breaks, judged against the other lines given (for duplicates): pass every line
    of the week that could matter (all of it, or all of one person's lines)."""
    facts = [(line.pk, line_facts(line)) for line in lines]
    duplicates = rules.duplicates_in(facts)
    return {
        pk: rules.evaluate(replace(f, duplicate_of=duplicates[pk]) if pk in duplicates else f)
        for pk, f in facts
    }


def exceptions_refresh(
    lines: Sequence[ActualLine], *, only: Iterable[int] | None = None, new: Iterable[int] = ()
) -> None:
    """Bring the stored exceptions of `lines` (or of those in `only`) in line with the rules, keeping
    the acknowledgement of an exception whose message has not changed. `new`: lines just inserted, which
    have none stored yet (not looked up)."""
    found = findings_for(lines)
    keys = set(found) if only is None else set(only)
    to_read = keys - set(new)
    stored: dict[tuple[int, str], LineException] = (
        {(e.line_id, e.rule): e for e in LineException.objects.filter(line_id__in=to_read)} if to_read else {}
    )
    wanted: dict[tuple[int, str], rules.Finding] = {
        (pk, f.rule): f for pk, findings in found.items() if pk in keys for f in findings
    }
    stale = [e.pk for key, e in stored.items() if key not in wanted or e.message != wanted[key].message]
    if stale:
        LineException.objects.filter(pk__in=stale).delete()
    kept = {key for key, e in stored.items() if e.pk not in stale}
    LineException.objects.bulk_create(
        LineException(line_id=pk, rule=rule_id, severity=f.severity, message=f.message)
        for (pk, rule_id), f in wanted.items()
        if (pk, rule_id) not in kept
    )


def _week_lines(week: ProviderWeek, *, lock: bool = False, person_id: int | None = None) -> list[ActualLine]:
    lines = ActualLine.objects.filter(week=week).select_related(
        "care_package_line__service_type", "care_package_line__service_user", "week"
    )
    if person_id is not None:
        lines = lines.filter(care_package_line__service_user_id=person_id)
    if lock:
        lines = lines.select_for_update(of=("self",)).order_by("pk")
    return list(lines)


# Generating --------------------------------------------------------------------------------------


@dataclass
class GenerateResult:
    week: ProviderWeek
    created: int = 0
    refreshed: int = 0
    kept: int = 0
    changed_lines: list[int] = field(default_factory=list)


def lines_running_in_week(
    lines: QuerySet[CarePackageLine], *, week_start: dt.date
) -> QuerySet[CarePackageLine]:
    """Of `lines`, those that run in the week and are paid through actuals; not those of a person who
    died before the week began. (Also what makes a provider expected to confirm the week.)"""
    week_end = calendar.week_end(week_start)
    return (
        lines.filter(start_date__lte=week_end)
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=week_start))
        .exclude(status=CarePackageLine.Status.ENDED, end_date__isnull=True)
        .exclude(service_type__paid_on=ServiceType.PaidOn.INVOICE)
        .exclude(service_user__deceased_on__lt=week_start)
    )


def lines_to_generate(*, provider: Provider, week_start: dt.date) -> list[CarePackageLine]:
    """The provider's care package lines that run in the week and are paid through actuals; not those of
    a person who died before the week began."""
    return list(
        lines_running_in_week(CarePackageLine.objects.for_provider(provider), week_start=week_start)
        .select_related("service_type", "service_user")
        .order_by("pk")
    )


def actuals_generate(*, provider: Provider, week_start: dt.date, by: User | None) -> GenerateResult:
    """Create the week's actual lines from the provider's care package lines, pre-filled from the plan.

    Again: adds what is missing; refreshes a draft line nobody has amended whose care package line changed;
    never overwrites an amended line (its change shows as a flag on the line). A confirmed week is refused."""
    if not calendar.is_week_start(week_start):
        raise ActualsError("A week starts on a Monday.")
    now = clock.now()
    with transaction.atomic():
        week, _ = ProviderWeek.objects.select_for_update().get_or_create(
            provider=provider,
            week_start=week_start,
            defaults={
                "deadline": calendar.week_deadline(week_start),
                "generated_at": now,
                "generated_by": by,
            },
        )
        if week.is_confirmed:  # its lines are locked; a line added now could never be confirmed or sent
            raise ActualsError("This week has already been confirmed.")
        result = GenerateResult(week=week)
        existing = {line.care_package_line_id: line for line in _week_lines(week, lock=True)}
        new_lines: list[ActualLine] = []
        refreshed: list[ActualLine] = []
        for cpl in lines_to_generate(provider=provider, week_start=week_start):
            line = existing.get(cpl.pk)
            if line is None:
                line = ActualLine(
                    provider=provider, week=week, care_package_line=cpl, care_package_line_version=cpl.version
                )
                _refresh_from_plan(line, prefill=True)
                new_lines.append(line)
            elif line.is_draft and not line.amended and line.care_package_line_version != cpl.version:
                line.care_package_line = cpl
                _refresh_from_plan(line, prefill=True)
                line.revision += 1
                refreshed.append(line)
            else:
                result.kept += 1
        if not new_lines and not refreshed:
            return result
        ActualLine.objects.bulk_create(new_lines, batch_size=2000)
        ActualLine.objects.bulk_update(
            refreshed,
            [
                "planned",
                "delivered",
                "frustrated",
                "missed",
                "extra",
                "rate",
                "amount",
                "revision",
                "care_package_line",
                "care_package_line_version",
            ],
            batch_size=1000,
        )
        result.created, result.refreshed = len(new_lines), len(refreshed)
        all_lines = [*existing.values(), *new_lines]
        exceptions_refresh(
            all_lines,
            only=[line.pk for line in [*new_lines, *refreshed]],
            new=[line.pk for line in new_lines],
        )
        audit_record(
            action="actuals.week.generated",
            actor=by,
            obj=week,
            provider=provider,
            data={"created": result.created, "refreshed": result.refreshed, "kept": result.kept},
        )
    return result


# Amending ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineValues:
    delivered: Decimal
    frustrated: Decimal
    missed: Decimal
    extra: Decimal
    adjustment_form_ref: str
    comment: str

    @classmethod
    def of(cls, line: ActualLine) -> LineValues:
        return cls(
            line.delivered,
            line.frustrated,
            line.missed,
            line.extra,
            line.adjustment_form_ref,
            line.comment,
        )

    def as_data(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in self.__dataclass_fields__}


class StaleEdit(ActualsError):
    """Someone else saved the line after this edit began. `current` is what they saved."""

    def __init__(self, line: ActualLine, by_name: str) -> None:
        self.line = line
        super().__init__(
            f"{by_name} changed this line while you were editing it. Their version is shown below; "
            "your changes are still in the form: check them and save again."
        )


def _provider_line(provider: Provider, line_id: int, *, lock: bool) -> ActualLine:
    lines = ActualLine.objects.for_provider(provider).select_related(
        "care_package_line__service_type", "care_package_line__service_user", "week", "amended_by"
    )
    if lock:
        lines = lines.select_for_update(of=("self",))
    line = lines.filter(pk=line_id).first()
    if line is None:
        raise ActualLine.DoesNotExist
    return line


def _apply_values(line: ActualLine, values: LineValues) -> None:
    for name in LineValues.__dataclass_fields__:
        setattr(line, name, getattr(values, name))
    line.comment = line.comment.strip()
    line.adjustment_form_ref = line.adjustment_form_ref.strip()
    line.no_service = False


def actual_amend(
    *, provider: Provider, line_id: int, by: User, values: LineValues, revision: int
) -> ActualLine:
    """Change a draft line. `revision` is the line's revision the edit started from: if someone saved it
    since, nothing is written and `StaleEdit` says who (the form keeps what this user typed)."""
    with transaction.atomic():
        line = _provider_line(provider, line_id, lock=True)
        if not line.is_draft:
            raise ActualsError("This line has been confirmed: it can only be corrected now.")
        if line.revision != revision:
            raise StaleEdit(line, line.amended_by.get_full_name() if line.amended_by else "Someone")
        before = LineValues.of(line)
        if before == values and line.care_package_line_version == line.care_package_line.version:
            return line
        _apply_values(line, values)
        _refresh_from_plan(line, prefill=False)
        line.amended, line.amended_at, line.amended_by = True, clock.now(), by
        line.revision += 1
        line.save()
        exceptions_refresh(
            _week_lines(line.week, person_id=line.care_package_line.service_user_id),
        )
        audit_record(
            action="actuals.line.amended",
            actor=by,
            obj=line,
            provider=provider,
            data={"before": before.as_data(), "after": LineValues.of(line).as_data()},
        )
    return line


def exception_acknowledge(
    *, provider: Provider, line_id: int, rule: str, by: User, reason: str
) -> LineException:
    """The provider's reason an acknowledge-exception is right as it is; finance reviews it after confirmation."""
    reason = reason.strip()
    if not reason:
        raise ActualsError("Enter the reason the line is right as it is.")
    with transaction.atomic():
        line = _provider_line(provider, line_id, lock=True)
        # OF self: the model's ordering (by line) joins the line's care package line and person, and a
        # plain FOR UPDATE would lock their rows too.
        exception = line.exceptions.select_for_update(of=("self",)).filter(rule=rule).first()
        if exception is None:
            raise ActualsError("That exception is no longer on the line: it may have been fixed.")
        if exception.is_blocking:
            raise ActualsError("This exception must be fixed: it cannot be acknowledged.")
        if not line.is_draft:
            raise ActualsError("This line has been confirmed: its exceptions were reviewed then.")
        exception.reason, exception.acknowledged_at, exception.acknowledged_by = reason, clock.now(), by
        exception.save()
        audit_record(
            action="actuals.exception.acknowledged",
            actor=by,
            obj=line,
            provider=provider,
            data={"rule": rule, "reason": reason},
        )
    return exception


# Confirming --------------------------------------------------------------------------------------


class ExceptionsOutstanding(ActualsError):
    """Exceptions to fix or acknowledge stop the confirmation."""


def _guard_no_blocking(lines: Sequence[ActualLine], exceptions: Sequence[LineException]) -> None:
    blocking = [e for e in exceptions if e.is_blocking]
    if blocking:
        raise ExceptionsOutstanding(
            f"{len(blocking)} exception{'s' if len(blocking) != 1 else ''} must be fixed before you can confirm."
        )
    unacknowledged = [e for e in exceptions if not e.is_blocking and not e.is_acknowledged]
    if unacknowledged:
        raise ExceptionsOutstanding(
            f"{len(unacknowledged)} exception{'s' if len(unacknowledged) != 1 else ''} need"
            f"{'s' if len(unacknowledged) == 1 else ''} a reason before you can confirm."
        )


def _line_payload(line: ActualLine) -> dict[str, Any]:
    return {
        "portal_line_id": line.pk,
        "version": line.version,
        "care_package_line_ref": line.care_package_line.ref,
        "planned": str(line.planned),
        "delivered": str(line.delivered),
        "frustrated": str(line.frustrated),
        "missed": str(line.missed),
        "extra": str(line.extra),
        "adjustment_form_ref": line.adjustment_form_ref,
        "comment": line.comment,
        "amount": str(line.amount),
    }


def lines_send(*, week: ProviderWeek, lines: Sequence[ActualLine], why: str) -> list[OutboxMessage]:
    """Queue lines for the back office through the outbox (in the caller's transaction)."""
    messages = []
    now = clock.now()
    confirmed_by = week.confirmed_by.email if week.confirmed_by else ""
    for start in range(0, len(lines), SUBMISSION_CHUNK):
        chunk = lines[start : start + SUBMISSION_CHUNK]
        messages.append(
            outbox_enqueue(
                kind=OutboxMessage.Kind.ACTUALS_SUBMISSION,
                provider=week.provider,
                summary=f"{calendar.week_label(week.week_start)}: {len(chunk)} line(s), {why}",
                body={
                    "provider_ref": week.provider.ref,
                    "week_start": week.week_start.isoformat(),
                    "confirmed_at": (week.confirmed_at or now).isoformat(),
                    "confirmed_by": confirmed_by,
                    "lines": [_line_payload(line) for line in chunk],
                },
            )
        )
    ActualLine.objects.filter(pk__in=[line.pk for line in lines]).update(status=Status.SENT, sent_at=now)
    for line in lines:
        line.status, line.sent_at = Status.SENT, now
    return messages


# What `_confirm_locked` brings up to date on every line before it checks the exceptions.
REFRESHED_FIELDS = [
    "planned",
    "delivered",
    "frustrated",
    "missed",
    "extra",
    "rate",
    "amount",
    "care_package_line_version",
    "revision",
]


@dataclass
class ConfirmResult:
    week: ProviderWeek
    sent: int
    held: int
    total: Decimal


def _confirm_locked(week: ProviderWeek, lines: list[ActualLine], *, by: User) -> ConfirmResult:
    if week.is_confirmed:
        raise ActualsError("This week has already been confirmed.")
    if not calendar.week_has_ended(week.week_start):
        raise ActualsError("You can confirm a week once it has ended (from the Monday after it).")
    now = clock.now()
    for line in lines:  # the plan and rate the back office holds now; untouched lines follow a new plan
        changed = line.care_package_line_version != line.care_package_line.version
        prefill = changed and not line.amended
        _refresh_from_plan(line, prefill=prefill)
        line.revision += prefill
    exceptions_refresh(lines)
    exceptions = list(LineException.objects.filter(line__week=week))
    _guard_no_blocking(lines, exceptions)
    acknowledged = {e.line_id for e in exceptions}
    to_send, held = [], []
    for line in lines:
        line.confirmed_at = now
        if line.pk in acknowledged:
            _transition(line, Status.HELD)
            held.append(line)
        else:
            to_send.append(line)
    ActualLine.objects.bulk_update(lines, ["status", "confirmed_at", *REFRESHED_FIELDS], batch_size=1000)
    week.state = ProviderWeek.State.CONFIRMED
    week.confirmed_at, week.confirmed_by = now, by
    week.late = now > calendar.week_deadline(week.week_start)
    week.save()
    if to_send:
        lines_send(week=week, lines=to_send, why="confirmed")
    total = sum((line.amount for line in lines), ZERO)
    audit_record(
        action="actuals.week.confirmed",
        actor=by,
        obj=week,
        provider=week.provider,
        data={
            "lines": len(lines),
            "sent": len(to_send),
            "held": len(held),
            "total": str(total),
            "late": week.late,
            "nil_return": week.nil_return,
        },
    )
    result = ConfirmResult(week, len(to_send), len(held), total)
    transaction.on_commit(lambda: _send_receipt(week=week, by=by, result=result))
    return result


def _locked_week(provider: Provider, week_start: dt.date) -> ProviderWeek:
    # OF self: the model's ordering joins the provider, and a plain FOR UPDATE would lock the provider's
    # row until the confirmation commits; the worker applying the back office's decisions (whose audit
    # rows check that provider's key at commit) then deadlocked with it (docs/benchmarks.md, the load test).
    week = (
        ProviderWeek.objects.for_provider(provider)
        .select_for_update(of=("self",))
        .filter(week_start=week_start)
        .first()
    )
    if week is None:
        raise ActualsError("Generate the week's actuals before confirming it.")
    return week


def week_confirm(*, provider: Provider, week_start: dt.date, by: User, declaration: bool) -> ConfirmResult:
    """The provider's declaration that every line of the week is correct: the lines lock; those with no
    acknowledged exception go to the back office at once, the others wait for finance review."""
    if not declaration:
        raise ActualsError("Confirm that all payments and amendments are correct")
    with transaction.atomic():
        week = _locked_week(provider, week_start)
        lines = _week_lines(week, lock=True)
        if not lines:
            raise ActualsError("The week has no lines to confirm.")
        try:
            return _confirm_locked(week, lines, by=by)
        except ExceptionsOutstanding as outstanding:
            # Keep the lines brought up to date and the exceptions found on them: a death or a changed
            # care package line can arrive after generation, and the page must show what stops this.
            ActualLine.objects.bulk_update(lines, REFRESHED_FIELDS, batch_size=1000)
            refused = outstanding
    raise refused


def week_nil_return(*, provider: Provider, week_start: dt.date, by: User, declaration: bool) -> ConfirmResult:
    """ "No service this week": every line set to nothing delivered with that reason, confirmed at once."""
    if not declaration:
        raise ActualsError("Confirm that no service was delivered this week")
    with transaction.atomic():
        actuals_generate(provider=provider, week_start=week_start, by=by)
        week = _locked_week(provider, week_start)
        if week.is_confirmed:
            raise ActualsError("This week has already been confirmed.")
        lines = _week_lines(week, lock=True)
        if not lines:
            raise ActualsError(
                "You have no care package lines running this week: there is nothing to return."
            )
        for line in lines:
            before = LineValues.of(line)
            line.delivered = line.frustrated = line.missed = line.extra = ZERO
            line.adjustment_form_ref, line.comment, line.no_service = "", NIL_RETURN_COMMENT, True
            line.amended, line.amended_at, line.amended_by = True, clock.now(), by
            if before != LineValues.of(line):
                line.revision += 1
            line.amount = line_amount(line)
        ActualLine.objects.bulk_update(
            lines,
            [
                "delivered",
                "frustrated",
                "missed",
                "extra",
                "adjustment_form_ref",
                "comment",
                "no_service",
                "amended",
                "amended_at",
                "amended_by",
                "revision",
                "amount",
            ],
            batch_size=1000,
        )
        # A death during the week still needs saying: acknowledged for the provider, by the nil return.
        exceptions_refresh(lines)
        LineException.objects.filter(
            line__week=week, severity=LineException.Severity.ACKNOWLEDGE, acknowledged_at__isnull=True
        ).update(acknowledged_at=clock.now(), acknowledged_by=by, reason=NIL_RETURN_COMMENT)
        week.nil_return = True
        week.save(update_fields=["nil_return"])
        return _confirm_locked(week, lines, by=by)


def _send_receipt(*, week: ProviderWeek, by: User, result: ConfirmResult) -> None:
    context = {
        "week": week,
        "week_label": calendar.week_label(week.week_start),
        "user": by,
        "result": result,
        "council_name": settings.COUNCIL_NAME,
        "base_url": settings.PORTAL_BASE_URL,
    }
    subject = render_to_string("emails/actuals/receipt_subject.txt", context).strip()
    body = render_to_string("emails/actuals/receipt.txt", context)
    recipients = sorted({by.email, week.provider.email} - {""})
    send_mail(subject, body, None, recipients)


# Correcting --------------------------------------------------------------------------------------


def actual_line_correct(
    *, provider: Provider, line_id: int, by: User, values: LineValues, reason: str, revision: int
) -> ActualLine:
    """Correct a confirmed, unpaid line once, with a reason: a new version of the line. It is sent at once
    unless it breaks an acknowledge-rule, when it is held for review (after the provider's reason)."""
    reason = reason.strip()
    if not reason:
        raise ActualsError("Enter the reason for the correction")
    with transaction.atomic():
        line = _provider_line(provider, line_id, lock=True)
        if line.is_draft:
            raise ActualsError("This line has not been confirmed yet: change it instead.")
        if line.status == Status.PAID:
            raise ActualsError("This line has been paid: raise a payment query to put it right.")
        if line.status == Status.DISPUTED:
            raise ActualsError("This line is in dispute: answer the dispute instead.")
        if line.correction_reason:
            raise ActualsError("This line has already been corrected once.")
        if line.revision != revision:
            raise StaleEdit(line, line.amended_by.get_full_name() if line.amended_by else "Someone")
        before = LineValues.of(line)
        if before == values:
            raise ActualsError(
                "The correction changes nothing: change a quantity, the reference or the comment."
            )
        week_lines = _week_lines(line.week, person_id=line.care_package_line.service_user_id)
        target = next(candidate for candidate in week_lines if candidate.pk == line.pk)
        _apply_values(target, values)
        _refresh_from_plan(target, prefill=False)
        findings = findings_for(week_lines)[line.pk]
        blocking = [f for f in findings if f.severity == rules.BLOCKING]
        if blocking:
            raise ActualsError(blocking[0].message)
        was_sent = line.status != Status.HELD
        _apply_values(line, values)
        _refresh_from_plan(line, prefill=False)
        line.version += 1
        line.correction_reason = reason
        line.amended, line.amended_at, line.amended_by = True, clock.now(), by
        line.revision += 1
        line.backoffice_reason = ""
        needs_review = any(f.severity == rules.ACKNOWLEDGE for f in findings)
        _transition(line, Status.HELD if needs_review else Status.SENT)
        line.save()
        exceptions_refresh(week_lines, only=[line.pk])
        if needs_review:
            LineException.objects.filter(line=line, acknowledged_at__isnull=True).update(
                acknowledged_at=clock.now(), acknowledged_by=by, reason=reason
            )
        else:
            lines_send(week=line.week, lines=[line], why=f"correction (version {line.version})")
        week = line.week
        week.state = ProviderWeek.State.CORRECTED
        week.save(update_fields=["state"])
        audit_record(
            action="actuals.line.corrected",
            actor=by,
            obj=line,
            provider=provider,
            data={
                "version": line.version,
                "reason": reason,
                "before": before.as_data(),
                "after": LineValues.of(line).as_data(),
                "held": needs_review,
                "was_sent": was_sent,
            },
        )
    return line


# Finance review ----------------------------------------------------------------------------------


def _staff_lines(user: User, line_ids: Iterable[int]) -> list[ActualLine]:
    return list(
        ActualLine.objects.for_staff(user)
        .select_related(
            "care_package_line__service_user",
            "care_package_line",
            "provider",
            "week__provider",
            "week__confirmed_by",
        )
        .select_for_update(of=("self",))
        .filter(pk__in=list(line_ids))
        .order_by("pk")
    )


def _review_reason(user: User, reason: str, what: str) -> str:
    if not reason.strip():
        raise ActualsError(f"Enter the reason for {what}")
    if not user.is_council_staff:
        raise ActualsError("Only council staff review exceptions.")
    return reason.strip()


def _held_lines(user: User, line_ids: Iterable[int], *, done: str) -> list[ActualLine]:
    """The chosen lines, locked; all still held for review, or nothing is done."""
    lines = _staff_lines(user, line_ids)
    if not lines:
        raise ActualsError("Select at least one line")
    not_held = [line for line in lines if line.status != Status.HELD]
    if not_held:
        raise ActualsError(
            f"{len(not_held)} of the lines chosen {'is' if len(not_held) == 1 else 'are'} no longer "
            f"waiting for review: nothing was {done}."
        )
    return lines


def lines_approve(*, user: User, line_ids: Iterable[int], reason: str) -> int:
    """A finance officer approves lines held for review: they go on to the back office."""
    reason = _review_reason(user, reason, "approving")
    with transaction.atomic():
        lines = _held_lines(user, line_ids, done="approved")
        now = clock.now()
        by_week: dict[int, list[ActualLine]] = {}
        for line in lines:
            line.review_reason, line.reviewed_at, line.reviewed_by = reason, now, user
            by_week.setdefault(line.week_id, []).append(line)
        ActualLine.objects.bulk_update(lines, ["review_reason", "reviewed_at", "reviewed_by"])
        for week_lines in by_week.values():
            lines_send(week=week_lines[0].week, lines=week_lines, why="approved by finance")
        for line in lines:
            audit_record(
                action="actuals.line.approved",
                actor=user,
                obj=line,
                provider=line.provider,
                data={"reason": reason, "version": line.version},
            )
    return len(lines)


def lines_dispute(*, user: User, line_ids: Iterable[int], reason: str) -> int:
    """A finance officer disputes lines held for review: they go back to the provider and are sent only
    with the dispute's outcome. (Issue #7 adds the dispute's thread and outcomes on top of this state.)"""
    reason = _review_reason(user, reason, "the dispute")
    with transaction.atomic():
        lines = _held_lines(user, line_ids, done="disputed")
        now = clock.now()
        for line in lines:
            _transition(line, Status.DISPUTED)
            line.review_reason, line.reviewed_at, line.reviewed_by = reason, now, user
        ActualLine.objects.bulk_update(lines, ["status", "review_reason", "reviewed_at", "reviewed_by"])
        for line in lines:
            audit_record(
                action="actuals.line.disputed",
                actor=user,
                obj=line,
                provider=line.provider,
                data={"reason": reason, "version": line.version},
            )
    return len(lines)


# The back office's decisions ---------------------------------------------------------------------

DECISION_STATUSES = {
    "accepted": Status.ACCEPTED,
    "rejected": Status.REJECTED,
    "paid": Status.PAID,
}


def actual_line_decision_apply(*, portal_line_id: str, version: int, status: str, reason: str) -> bool:
    """The back office's decision on a line version, from its submission events. Applies only to the
    line's current version (an older version's "superseded" changes nothing); returns whether it did."""
    target = DECISION_STATUSES.get(status)
    if target is None or not portal_line_id.isdigit():
        return False
    with transaction.atomic():
        # OF self: the model's ordering joins the care package line and the person; a plain FOR UPDATE
        # locked the care package line's row, which a confirmation of another week with the same line
        # checks (its foreign key, at commit) while holding the rows this waits for: a deadlock.
        line = (
            ActualLine.objects.all_providers_for_sync()
            .select_for_update(of=("self",))
            .filter(pk=int(portal_line_id), version=version)
            .first()
        )
        if line is None or line.status == target or target not in LINE_TRANSITIONS[line.status]:
            return False
        if line.status in (Status.DRAFT, Status.HELD, Status.DISPUTED):
            return False  # this version was never sent (or a newer state stands)
        line.status = target
        line.backoffice_reason = reason if target == Status.REJECTED else ""
        line.save(update_fields=["status", "backoffice_reason"])
        audit_record(
            action=f"actuals.line.{target}",
            actor=None,
            obj=line,
            provider=line.provider,
            data={"version": version, "reason": reason},
        )
    return True


# Scheduled work ----------------------------------------------------------------------------------


def providers_for_generation() -> list[int]:
    return list(Provider.objects.filter(portal_enabled=True, active=True).values_list("pk", flat=True))


def week_just_ended(today: dt.date | None = None) -> dt.date:
    return calendar.week_start_of(today or clock.today()) - dt.timedelta(days=7)
