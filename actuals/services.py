"""The weekly actuals cycle: generate, amend, acknowledge, confirm, correct, review, and the back office's
decisions coming back. Views, forms, tasks and commands only call these.

Every state change runs in one transaction, locks what it changes, checks its preconditions with guards
that raise `ActualsError` (a message for the user), writes an audit event, and queues what follows
(the outbox message, the receipt email) in the same transaction, for a worker to send once it commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string

from actuals import calendar, rules
from actuals.models import ActualLine, LineException, ProviderWeek, SentVersion
from contrOCC_sync.models import OutboxMessage
from contrOCC_sync.outbox import outbox_enqueue
from portal import clock
from portal.audit.services import audit_record, audit_record_many
from portal.bulk import rows_update
from portal.mail.services import email_queue
from portal.money import ZERO, round_money, round_to_step
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser

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
    Status.DISPUTED: frozenset({Status.SENT, Status.NOT_PAYABLE}),  # the dispute's outcome (disputes app)
    # Not payable from the back office's hands: a council dispute upheld on a line paid on its plan (its
    # money recovered by a payment adjustment; the back office's later word on it leaves it not payable).
    Status.SENT: frozenset({Status.ACCEPTED, Status.REJECTED, Status.SENT, Status.HELD, Status.NOT_PAYABLE}),
    Status.ACCEPTED: frozenset({Status.PAID, Status.SENT, Status.HELD, Status.REJECTED, Status.NOT_PAYABLE}),
    Status.REJECTED: frozenset({Status.SENT, Status.HELD, Status.ACCEPTED, Status.NOT_PAYABLE}),
    Status.PAID: frozenset(),
    Status.NOT_PAYABLE: frozenset({Status.SENT}),  # a reopened dispute settled or withdrawn after all
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


def _lines_with_plan() -> QuerySet[ActualLine]:
    return ActualLine.objects.select_related(
        "care_package_line__service_type", "care_package_line__service_user", "week"
    )


def _week_lines(week: ProviderWeek, *, lock: bool = False, person_id: int | None = None) -> list[ActualLine]:
    lines = _lines_with_plan().filter(week=week)
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
    removed: int = 0
    kept: int = 0
    changed_lines: list[int] = field(default_factory=list)


def paid_through_actuals(lines: QuerySet[CarePackageLine]) -> QuerySet[CarePackageLine]:
    """Of `lines`, those paid through actuals that may run: not paid on invoice, not ended without a date."""
    return lines.exclude(status=CarePackageLine.Status.ENDED, end_date__isnull=True).exclude(
        service_type__paid_on=ServiceType.PaidOn.INVOICE
    )


def running_in_weeks(first_week: dt.date, last_week: dt.date) -> Q:
    """A care package line runs in some week from `first_week` to `last_week`: it starts by the last week's
    end, ends (if it does) after the first week began, and its person had not died before then."""
    return (
        Q(start_date__lte=calendar.week_end(last_week))
        & (Q(end_date__isnull=True) | Q(end_date__gte=first_week))
        & (Q(service_user__deceased_on__isnull=True) | Q(service_user__deceased_on__gte=first_week))
    )


def lines_running_in_week(
    lines: QuerySet[CarePackageLine], *, week_start: dt.date
) -> QuerySet[CarePackageLine]:
    """Of `lines`, those that run in the week and are paid through actuals. (Also what makes a provider
    expected to confirm the week.)"""
    return paid_through_actuals(lines).filter(running_in_weeks(week_start, week_start))


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

    Again: adds what is missing; refreshes a draft line nobody has amended whose care package line changed,
    and removes one whose care package line no longer runs in the week; never overwrites an amended line
    (its change shows as a flag on the line). On a confirmed week it only adds the lines of care package
    lines published since (supplementary lines, confirmed on their own)."""
    if not calendar.is_week_start(week_start):
        raise ActualsError("A week starts on a Monday.")
    if why_not := calendar.week_claimable(week_start):
        raise ActualsError(why_not)
    now = clock.now()
    with transaction.atomic():
        week, _ = ProviderWeek.objects.select_for_update(of=("self",)).get_or_create(
            provider=provider,
            week_start=week_start,
            defaults={
                "deadline": calendar.week_deadline(week_start),
                "generated_at": now,
                "generated_by": by,
            },
        )
        result = GenerateResult(week=week)
        existing = {line.care_package_line_id: line for line in _week_lines(week, lock=True)}
        running = lines_to_generate(provider=provider, week_start=week_start)
        new_lines: list[ActualLine] = []
        refreshed: list[ActualLine] = []
        for cpl in running:
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
        running_ids = {cpl.pk for cpl in running}
        gone = [
            line
            for cpl_id, line in existing.items()
            if cpl_id not in running_ids and line.is_draft and not line.amended
        ]
        if not new_lines and not refreshed and not gone:
            return result
        ActualLine.objects.bulk_create(new_lines, batch_size=2000)
        rows_update(
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
        )
        if gone:  # generated from a plan since ended or withdrawn, and never touched: nothing to claim
            ActualLine.objects.filter(pk__in=[line.pk for line in gone]).delete()
        result.created, result.refreshed, result.removed = len(new_lines), len(refreshed), len(gone)
        gone_ids = {line.pk for line in gone}
        all_lines = [line for line in [*existing.values(), *new_lines] if line.pk not in gone_ids]
        exceptions_refresh(  # all of them when a line went: it may have been another's duplicate
            all_lines,
            only=None if gone else [line.pk for line in [*new_lines, *refreshed]],
            new=[line.pk for line in new_lines],
        )
        audit_record(
            action="actuals.week.generated",
            actor=by,
            obj=week,
            provider=provider,
            data={
                "created": result.created,
                "refreshed": result.refreshed,
                "removed": result.removed,
                "kept": result.kept,
                "supplementary": week.is_confirmed,
            },
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


def _line_with_its_persons_lines(provider: Provider, line_id: int) -> tuple[ActualLine, list[ActualLine]]:
    """The line and the other lines of its person that week, all locked in one order, in one query: the
    rules judge a line against them (duplicates), so two edits of one person's lines at once must not both
    judge the lines as they were before either edit."""
    line = ActualLine.objects.for_provider(provider).filter(pk=line_id)
    person_lines = list(
        _lines_with_plan()
        .filter(
            week__in=line.values("week"),
            care_package_line__service_user__in=line.values("care_package_line__service_user"),
        )
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    found = next((candidate for candidate in person_lines if candidate.pk == line_id), None)
    if found is None:  # not the provider's, or removed meanwhile
        raise ActualLine.DoesNotExist
    return found, person_lines


def _who_changed(line: ActualLine) -> str:
    return line.amended_by.get_full_name() if line.amended_by else "Someone"


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
        line, person_lines = _line_with_its_persons_lines(provider, line_id)
        if not line.is_draft:
            raise ActualsError("This line has been confirmed: it can only be corrected now.")
        if line.revision != revision:
            raise StaleEdit(line, _who_changed(line))
        before = LineValues.of(line)
        if before == values and line.care_package_line_version == line.care_package_line.version:
            return line
        _apply_values(line, values)
        _refresh_from_plan(line, prefill=False)
        line.amended, line.amended_at, line.amended_by = True, clock.now(), by
        line.revision += 1
        line.save()
        exceptions_refresh(person_lines)
        audit_record(
            action="actuals.line.amended",
            actor=by,
            obj=line,
            provider=provider,
            data={"before": before.as_data(), "after": LineValues.of(line).as_data()},
        )
    return line


@dataclass(frozen=True)
class PlannedChange:
    """A line's new values, and the revision they were checked against."""

    line_id: int
    revision: int
    values: LineValues


AMEND_FIELDS = [
    "delivered",
    "frustrated",
    "missed",
    "extra",
    "adjustment_form_ref",
    "comment",
    "no_service",
    "planned",
    "rate",
    "care_package_line_version",
    "amount",
    "amended",
    "amended_at",
    "amended_by",
    "revision",
]


def lines_bulk_amend(
    *, week: ProviderWeek, by: User, changes: Sequence[PlannedChange], via: str, upload_id: str
) -> list[ActualLine]:
    """`actual_amend` for many lines of one week at once, in the caller's transaction: every line must
    still be a draft at the revision it was checked at, or nothing changes. One update, one exception
    refresh for the week, one audit event per line (with what it was and what it became)."""
    lines = _week_lines(week, lock=True)
    by_pk = {line.pk: line for line in lines}
    stale = [
        change
        for change in changes
        if change.line_id not in by_pk
        or not by_pk[change.line_id].is_draft
        or by_pk[change.line_id].revision != change.revision
    ]
    if stale:
        count = len(stale)
        raise ActualsError(
            f"{count} of the lines in this upload {'has' if count == 1 else 'have'} changed since it was "
            "checked (someone saved them, or the week was confirmed), so nothing has been changed. Upload "
            "the file again to check it against the lines as they are now."
        )
    now = clock.now()
    changed: list[ActualLine] = []
    events: list[tuple[ActualLine, dict[str, Any]]] = []
    for change in changes:
        line = by_pk[change.line_id]
        before = LineValues.of(line)
        _apply_values(line, change.values)
        _refresh_from_plan(line, prefill=False)
        line.amended, line.amended_at, line.amended_by = True, now, by
        line.revision += 1
        changed.append(line)
        events.append(
            (
                line,
                {
                    "via": via,
                    "upload": upload_id,
                    "before": before.as_data(),
                    "after": LineValues.of(line).as_data(),
                },
            )
        )
    rows_update(changed, AMEND_FIELDS)
    exceptions_refresh(lines)
    audit_record_many(action="actuals.line.amended", actor=by, provider=week.provider, events=events)
    return changed


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
    """Queue lines for the back office through the outbox (in the caller's transaction), each as the
    version it is now, and keep that version as it was sent."""
    now = clock.now()
    for line in lines:
        _transition(line, Status.SENT)
        line.sent_at = now
    payloads = [_line_payload(line) for line in lines]
    SentVersion.objects.bulk_create(
        (
            SentVersion(
                line=line, version=line.version, amount=line.amount, payload=payload, sent_at=now, why=why
            )
            for line, payload in zip(lines, payloads, strict=True)
        ),
        batch_size=1000,
    )
    ActualLine.objects.filter(pk__in=[line.pk for line in lines]).update(status=Status.SENT, sent_at=now)
    confirmed_by = week.confirmed_by.email if week.confirmed_by else ""
    return [
        outbox_enqueue(
            kind=OutboxMessage.Kind.ACTUALS_SUBMISSION,
            provider=week.provider,
            summary=f"{calendar.week_label(week.week_start)}: {len(chunk)} line(s), {why}",
            body={
                "provider_ref": week.provider.ref,
                "week_start": week.week_start.isoformat(),
                "confirmed_at": (week.confirmed_at or now).isoformat(),
                "confirmed_by": confirmed_by,
                "lines": chunk,
            },
        )
        for chunk in (
            payloads[start : start + SUBMISSION_CHUNK] for start in range(0, len(payloads), SUBMISSION_CHUNK)
        )
    ]


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
    total: Decimal  # of the lines sent: what this confirmation asks to be paid now
    held_total: Decimal = ZERO  # of the lines held for review: paid once approved


def _fingerprint(seen: Iterable[tuple[int, int, int]]) -> str:
    return hashlib.sha256(repr(sorted(seen)).encode()).hexdigest()[:32]


def lines_fingerprint(lines: Iterable[ActualLine]) -> str:
    """What the provider saw of the lines to confirm: each draft line's revision and its care package
    line's version. The declaration carries it, so a change made meanwhile (by a colleague, an upload or
    the back office) is not confirmed unseen."""
    return _fingerprint(
        (line.pk, line.revision, line.care_package_line.version) for line in lines if line.is_draft
    )


def week_drafts_fingerprint(week: ProviderWeek) -> tuple[int, str]:
    """How many lines of the week are still to confirm, and their `lines_fingerprint`, in one query."""
    seen = list(
        ActualLine.objects.filter(week=week, status=Status.DRAFT)
        .order_by()
        .values_list("pk", "revision", "care_package_line__version")
    )
    return len(seen), _fingerprint(seen)


def _confirm_locked(
    week: ProviderWeek, lines: list[ActualLine], *, by: User, fingerprint: str | None = None
) -> ConfirmResult:
    """Confirm the week's draft lines: all of them, or on a week confirmed already, the supplementary lines
    added since (care package lines the back office published after the confirmation)."""
    drafts = [line for line in lines if line.is_draft]
    supplementary = week.is_confirmed
    if not drafts:
        raise ActualsError("This week has already been confirmed.")
    if not calendar.week_has_ended(week.week_start):
        raise ActualsError("You can confirm a week once it has ended (from the Monday after it).")
    if fingerprint is not None and fingerprint != lines_fingerprint(drafts):
        raise ActualsError(
            "The week's lines changed after you opened this page (a colleague, an upload or the council "
            "changed them): check the figures again, then confirm."
        )
    now = clock.now()
    for line in drafts:  # the plan and rate the back office holds now; untouched lines follow a new plan
        changed = line.care_package_line_version != line.care_package_line.version
        prefill = changed and not line.amended
        _refresh_from_plan(line, prefill=prefill)
        line.revision += prefill
    exceptions_refresh(lines, only=[line.pk for line in drafts])
    exceptions = list(LineException.objects.filter(line__in=drafts))
    _guard_no_blocking(drafts, exceptions)
    acknowledged = {e.line_id for e in exceptions}
    to_send, held = [], []
    for line in drafts:
        line.confirmed_at = now
        if line.pk in acknowledged:
            _transition(line, Status.HELD)
            held.append(line)
        else:
            to_send.append(line)
    rows_update(drafts, ["status", "confirmed_at", *REFRESHED_FIELDS])
    if not supplementary:
        week.state = ProviderWeek.State.CONFIRMED
        week.confirmed_at, week.confirmed_by = now, by
        week.late = now > calendar.week_deadline(week.week_start)
        week.save()
    if to_send:
        lines_send(week=week, lines=to_send, why="supplementary" if supplementary else "confirmed")
    total = sum((line.amount for line in to_send), ZERO)
    held_total = sum((line.amount for line in held), ZERO)
    audit_record(
        action="actuals.week.confirmed",
        actor=by,
        obj=week,
        provider=week.provider,
        data={
            "lines": len(drafts),
            "sent": len(to_send),
            "held": len(held),
            "total": str(total),
            "held_total": str(held_total),
            "late": week.late,
            "nil_return": week.nil_return,
            "supplementary": supplementary,
        },
    )
    result = ConfirmResult(week, len(to_send), len(held), total, held_total)
    _receipt_queue(week=week, by=by, result=result)
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


def week_confirm(
    *, provider: Provider, week_start: dt.date, by: User, declaration: bool, fingerprint: str | None = None
) -> ConfirmResult:
    """The provider's declaration that every line of the week is correct: the lines lock; those with no
    acknowledged exception go to the back office at once, the others wait for finance review.
    `fingerprint`: `lines_fingerprint` of the lines as the confirmation page showed them."""
    if not declaration:
        raise ActualsError("Confirm that all payments and amendments are correct")
    with transaction.atomic():
        week = _locked_week(provider, week_start)
        lines = _week_lines(week, lock=True)
        if not lines:
            raise ActualsError("The week has no lines to confirm.")
        try:
            return _confirm_locked(week, lines, by=by, fingerprint=fingerprint)
        except ExceptionsOutstanding as outstanding:
            # Keep the lines brought up to date and the exceptions found on them: a death or a changed
            # care package line can arrive after generation, and the page must show what stops this.
            drafts = [line for line in lines if line.is_draft]
            rows_update(drafts, REFRESHED_FIELDS)
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
        amended: list[tuple[ActualLine, dict[str, Any]]] = []
        for line in lines:
            before = LineValues.of(line)
            line.delivered = line.frustrated = line.missed = line.extra = ZERO
            line.adjustment_form_ref, line.comment, line.no_service = "", NIL_RETURN_COMMENT, True
            line.amended, line.amended_at, line.amended_by = True, clock.now(), by
            if before != LineValues.of(line):
                line.revision += 1
                amended.append((line, {"before": before.as_data(), "after": LineValues.of(line).as_data()}))
            line.amount = line_amount(line)
        rows_update(
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
        )
        # A death during the week still needs saying: acknowledged for the provider, by the nil return.
        exceptions_refresh(lines)
        LineException.objects.filter(
            line__week=week, severity=LineException.Severity.ACKNOWLEDGE, acknowledged_at__isnull=True
        ).update(acknowledged_at=clock.now(), acknowledged_by=by, reason=NIL_RETURN_COMMENT)
        audit_record_many(action="actuals.line.amended", actor=by, provider=provider, events=amended)
        week.nil_return = True
        week.save(update_fields=["nil_return"])
        return _confirm_locked(week, lines, by=by)


def _receipt_queue(*, week: ProviderWeek, by: User, result: ConfirmResult) -> None:
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
    email_queue(subject=subject, body=body, to=recipients)


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
        line, week_lines = _line_with_its_persons_lines(provider, line_id)
        if line.is_draft:
            raise ActualsError("This line has not been confirmed yet: change it instead.")
        if line.status == Status.PAID:
            raise ActualsError("This line has been paid: raise a payment query to put it right.")
        if line.status == Status.DISPUTED:
            raise ActualsError("This line is in dispute: answer the dispute instead.")
        if line.correction_reason:
            raise ActualsError("This line has already been corrected once.")
        if line.revision != revision:
            raise StaleEdit(line, _who_changed(line))
        before = LineValues.of(line)
        if before == values:
            raise ActualsError(
                "The correction changes nothing: change a quantity, the reference or the comment."
            )
        _apply_values(line, values)  # `line` is one of `week_lines`: the rules judge it as corrected
        _refresh_from_plan(line, prefill=False)
        findings = findings_for(week_lines)[line.pk]
        blocking = [f for f in findings if f.severity == rules.BLOCKING]
        if blocking:
            raise ActualsError(blocking[0].message)  # and the transaction forgets the values applied
        was_sent = line.status != Status.HELD
        line.version += 1
        line.correction_reason = reason
        line.amended, line.amended_at, line.amended_by = True, clock.now(), by
        line.revision += 1
        line.backoffice_reason = ""
        needs_review = any(f.severity == rules.ACKNOWLEDGE for f in findings)
        if needs_review:
            _transition(line, Status.HELD)
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
            "care_package_line__service_type",
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


def _held_lines(user: User, versions: Mapping[int, int], *, done: str) -> list[ActualLine]:
    """The chosen lines, locked; all still held for review at the version the officer saw (`versions`:
    line → version), or nothing is done."""
    lines = _staff_lines(user, versions)
    if not lines:
        raise ActualsError("Select at least one line")
    not_held = [line for line in lines if line.status != Status.HELD]
    if not_held:
        raise ActualsError(
            f"{len(not_held)} of the lines chosen {'is' if len(not_held) == 1 else 'are'} no longer "
            f"waiting for review: nothing was {done}."
        )
    corrected = [line for line in lines if line.version != versions[line.pk]]
    if corrected:
        raise ActualsError(
            f"{len(corrected)} of the lines chosen {'was' if len(corrected) == 1 else 'were'} corrected by "
            f"the provider since you opened the page: nothing was {done}. Check the lines again."
        )
    return lines


def lines_approve(*, user: User, versions: Mapping[int, int], reason: str) -> int:
    """A finance officer approves lines held for review (`versions`: each line and the version they
    saw): they go on to the back office, at the rate the care package line has now (the back office
    pays at its own rate, and refuses an amount that does not agree with it)."""
    reason = _review_reason(user, reason, "approving")
    with transaction.atomic():
        lines = _held_lines(user, versions, done="approved")
        now = clock.now()
        by_week: dict[int, list[ActualLine]] = {}
        repriced: dict[int, str] = {}
        for line in lines:
            before = line.amount
            _refresh_from_plan(line, prefill=False)
            if line.amount != before:
                repriced[line.pk] = str(before)
            line.review_reason, line.reviewed_at, line.reviewed_by = reason, now, user
            by_week.setdefault(line.week_id, []).append(line)
        rows_update(
            lines,
            [
                "review_reason",
                "reviewed_at",
                "reviewed_by",
                "planned",
                "rate",
                "amount",
                "care_package_line_version",
            ],
        )
        for week_lines in by_week.values():
            lines_send(week=week_lines[0].week, lines=week_lines, why="approved by finance")
        for line in lines:
            data = {"reason": reason, "version": line.version}
            if line.pk in repriced:
                data |= {"amount_before": repriced[line.pk], "amount": str(line.amount)}
            audit_record(
                action="actuals.line.approved", actor=user, obj=line, provider=line.provider, data=data
            )
    return len(lines)


def lines_dispute(*, user: User, versions: Mapping[int, int], reason: str) -> int:
    """A finance officer disputes lines held for review (`versions`: each line and the version they
    saw): they go back to the provider and are sent only with the dispute's outcome. (Issue #7 adds the
    dispute's thread and outcomes on top of this state.)"""
    reason = _review_reason(user, reason, "the dispute")
    with transaction.atomic():
        lines = _held_lines(user, versions, done="disputed")
        now = clock.now()
        for line in lines:
            _transition(line, Status.DISPUTED)
            line.review_reason, line.reviewed_at, line.reviewed_by = reason, now, user
        rows_update(lines, ["status", "review_reason", "reviewed_at", "reviewed_by"])
        for line in lines:
            audit_record(
                action="actuals.line.disputed",
                actor=user,
                obj=line,
                provider=line.provider,
                data={"reason": reason, "version": line.version},
            )
    return len(lines)


# A dispute's outcome (the disputes app decides; these change the lines) --------------------------


def _new_version(line: ActualLine, values: LineValues, *, by: User, reason: str) -> None:
    """The line at `values`, as its next version: refused (the caller's transaction then forgets it) if
    the values break a blocking rule."""
    before = LineValues.of(line)
    _apply_values(line, values)
    _refresh_from_plan(line, prefill=False)
    blocking = [f for f in findings_for([line])[line.pk] if f.severity == rules.BLOCKING]
    if blocking:
        raise ActualsError(f"{line.care_package_line.service_user.name}: {blocking[0].message}")
    line.version += 1
    line.amended, line.amended_at, line.amended_by = True, clock.now(), by
    line.revision += 1
    line.save()
    audit_record(
        action="actuals.line.settled",
        actor=by,
        obj=line,
        provider=line.provider,
        data={
            "version": line.version,
            "reason": reason,
            "before": before.as_data(),
            "after": values.as_data(),
        },
    )


# Disputed lines, or (a dispute reopened after its outcome) lines sent but not yet paid.
SETTLEABLE = frozenset({Status.DISPUTED, Status.SENT, Status.ACCEPTED, Status.REJECTED, Status.NOT_PAYABLE})


def lines_settle(
    *, lines: Sequence[ActualLine], values: Mapping[int, LineValues], by: User, reason: str
) -> list[ActualLine]:
    """Disputed lines settled at agreed quantities: each a new version, sent (in the caller's transaction,
    which has locked the lines)."""
    for line in lines:
        if line.status not in SETTLEABLE:
            raise ActualsError(
                f"The line for {line.care_package_line.service_user.name} cannot be settled now."
            )
        _new_version(line, values[line.pk], by=by, reason=reason)
    for week_lines in _by_week(lines).values():
        lines_send(week=week_lines[0].week, lines=week_lines, why=reason[:100])
    return list(lines)


def lines_release(*, lines: Sequence[ActualLine], why: str) -> None:
    """Lines held back (in review or dispute) go on to the back office as confirmed, at the plan and rate
    the care package line has now (the back office pays at its own rate and refuses an amount that does
    not agree), in the caller's transaction."""
    for line in lines:
        _refresh_from_plan(line, prefill=False)
    rows_update(lines, ["planned", "rate", "amount", "care_package_line_version"])
    for week_lines in _by_week(lines).values():
        lines_send(week=week_lines[0].week, lines=week_lines, why=why[:100])


def lines_recovered(*, lines: Sequence[ActualLine], by: User, reason: str) -> None:
    """Disputed lines paid on their plan (held back, or with the back office and unpaid) whose money is
    recovered by a payment adjustment: not payable."""
    for line in lines:
        _transition(line, Status.NOT_PAYABLE)
    rows_update(lines, ["status"])
    for line in lines:
        audit_record(
            action="actuals.line.not_payable",
            actor=by,
            obj=line,
            provider=line.provider,
            data={"reason": reason},
        )


def lines_not_payable(*, lines: Sequence[ActualLine], by: User, reason: str) -> dict[str, Any]:
    """Disputed lines the council will not pay (its challenge upheld): a line the back office has had a
    version of gets a version with nothing delivered (it recovers what it paid, or pays nothing), the
    others are not payable and never sent."""
    ever_sent = set(SentVersion.objects.filter(line__in=lines).values_list("line_id", flat=True))
    to_send: list[ActualLine] = []
    not_payable: list[ActualLine] = []
    for line in lines:
        if line.pk in ever_sent:
            nothing = replace(  # missed: what the plan said and the council will not pay for
                LineValues.of(line),
                delivered=ZERO,
                frustrated=ZERO,
                extra=ZERO,
                missed=line.planned,
                comment=reason,
            )
            _new_version(line, nothing, by=by, reason=reason)
            to_send.append(line)
        else:
            _transition(line, Status.NOT_PAYABLE)
            not_payable.append(line)
    rows_update(not_payable, ["status"])
    for line in not_payable:
        audit_record(
            action="actuals.line.not_payable",
            actor=by,
            obj=line,
            provider=line.provider,
            data={"reason": reason},
        )
    for week_lines in _by_week(to_send).values():
        lines_send(week=week_lines[0].week, lines=week_lines, why=reason[:100])
    return {
        "sent_nothing_payable": [line.pk for line in to_send],
        "not_payable": [line.pk for line in not_payable],
    }


def _by_week(lines: Sequence[ActualLine]) -> dict[int, list[ActualLine]]:
    grouped: dict[int, list[ActualLine]] = {}
    for line in lines:
        grouped.setdefault(line.week_id, []).append(line)
    return grouped


def person_lines_recheck(*, person: ServiceUser, since: dt.date, provider: Provider) -> int:
    """Check again the provider's draft lines of `person` from the week of `since` on (a death it
    reported), so the rules flag service recorded after it. Returns how many lines were checked."""
    weeks = (
        ProviderWeek.objects.for_provider(provider)
        .filter(week_start__gte=calendar.week_start_of(since), lines__care_package_line__service_user=person)
        .distinct()
    )
    checked = 0
    for week in weeks:
        person_lines = _week_lines(week, lock=True, person_id=person.pk)
        drafts = [line.pk for line in person_lines if line.is_draft]
        if drafts:
            exceptions_refresh(person_lines, only=drafts)
            checked += len(drafts)
    return checked


# The back office's decisions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """The back office's word on one version of a line (a submission event)."""

    portal_line_id: str
    version: int
    status: str
    reason: str = ""


# What a line version's status from the back office makes of the line, when it is the line's current
# version (`None`: the line keeps its state; "received" says only that the submission arrived).
DECISION_LINE_STATUS: dict[str, str | None] = {
    SentVersion.Status.RECEIVED: None,
    SentVersion.Status.ACCEPTED: Status.ACCEPTED,
    SentVersion.Status.REJECTED: Status.REJECTED,
    SentVersion.Status.SUPERSEDED: None,
    SentVersion.Status.PAID: Status.PAID,
}


def actual_line_decisions_apply(decisions: Sequence[Decision]) -> int:
    """The back office's decisions on line versions, from its submission events, in the order it made
    them: each is kept on the version it is about (an older version can still be paid, or superseded);
    the line itself follows only its current version. One transaction, the lines locked in one order, one
    write per table; returns how many decisions changed something. Unknown lines and versions never
    sent are ignored (logged): the back office only decides on what the portal sent."""
    wanted = [d for d in decisions if d.status in DECISION_LINE_STATUS and d.portal_line_id.isdigit()]
    if not wanted:
        return 0
    with transaction.atomic():
        # OF self: the model's ordering joins the care package line and the person; a plain FOR UPDATE
        # locked the care package line's row, which a confirmation of another week with the same line
        # checks (its foreign key, at commit) while holding the rows this waits for: a deadlock.
        lines = {
            line.pk: line
            for line in ActualLine.objects.all_providers_for_sync()
            .select_related("provider")
            .select_for_update(of=("self",))
            .filter(pk__in={int(d.portal_line_id) for d in wanted})
            .order_by("pk")
        }
        versions = {
            (v.line_id, v.version): v
            for v in SentVersion.objects.select_for_update()
            .filter(line_id__in=lines)
            .order_by("line_id", "version")
        }
        now = clock.now()
        changed_versions: dict[int, SentVersion] = {}
        changed_lines: dict[int, ActualLine] = {}
        events: dict[tuple[str, int], list[tuple[ActualLine, dict[str, Any]]]] = {}
        for decision in wanted:
            line = lines.get(int(decision.portal_line_id))
            sent = versions.get((int(decision.portal_line_id), decision.version))
            if line is None or sent is None:
                logger.warning("decision on a line version never sent: %s", decision)
                continue
            if sent.status == decision.status or sent.status == SentVersion.Status.PAID:
                continue  # a repeat, or after payment (paid is final)
            sent.status, sent.decided_at = decision.status, now
            sent.reason = decision.reason if decision.status == SentVersion.Status.REJECTED else ""
            changed_versions[sent.pk] = sent
            to = DECISION_LINE_STATUS[decision.status]
            if (
                to
                and line.version == decision.version
                and line.status != to
                and to in LINE_TRANSITIONS[line.status]
            ):
                line.status = to
                line.backoffice_reason = sent.reason
                changed_lines[line.pk] = line
            events.setdefault((decision.status, line.provider_id), []).append(
                (
                    line,
                    {
                        "version": decision.version,
                        "reason": decision.reason,
                        "current": line.version == decision.version,
                    },
                )
            )
        rows_update(changed_versions.values(), ["status", "reason", "decided_at"])
        rows_update(changed_lines.values(), ["status", "backoffice_reason"])
        for (status, _), provider_events in events.items():
            audit_record_many(
                action=f"actuals.line.{status}",
                actor=None,
                provider=provider_events[0][0].provider,
                events=provider_events,
            )
    return len(changed_versions)


def actual_lines_refused(*, body: dict[str, Any], reason: str) -> int:
    """The back office refused a whole submission (it is never retried): its lines are rejected with the
    refusal's reason, so the provider sees them and can correct them, rather than waiting as sent."""
    why = f"The council's finance system refused the submission: {reason}"
    return actual_line_decisions_apply(
        [
            Decision(str(line.get("portal_line_id", "")), int(line.get("version") or 0), "rejected", why)
            for line in body.get("lines", [])
            if isinstance(line, dict)
        ]
    )


def actual_line_decision_apply(*, portal_line_id: str, version: int, status: str, reason: str) -> bool:
    """One decision (`actual_line_decisions_apply`); returns whether it changed anything."""
    return bool(actual_line_decisions_apply([Decision(portal_line_id, version, status, reason)]))


# Scheduled work ----------------------------------------------------------------------------------


def providers_for_generation() -> list[int]:
    return list(Provider.objects.filter(portal_enabled=True, active=True).values_list("pk", flat=True))


def week_just_ended(today: dt.date | None = None) -> dt.date:
    return calendar.week_start_of(today or clock.today()) - dt.timedelta(days=7)
