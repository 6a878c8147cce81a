"""Reads of weeks and actual lines that pages reuse. Provider-owned rows always start from a scoped
queryset (or, in the one statement written as SQL, from the provider's id); a page's query count does not
grow with its lines, nor the scheduled payments page's with its weeks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import connection
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.db.models.functions import Least

from actuals import calendar
from actuals.models import ActualLine, LineException, ProviderWeek
from actuals.services import paid_through_actuals, running_in_weeks
from portal import clock
from portal.money import ZERO, round_money
from portal.providers.models import CarePackageLine, Provider

if TYPE_CHECKING:
    from portal.accounts.models import User

Status = ActualLine.Status
Severity = LineException.Severity
OPEN_WEEKS_BACK = 8  # how far back the checklist looks for weeks never started

# What a week's payment is made of (DOMAIN.md, "The life of a week and its lines"): a draft line is paid
# once the week is confirmed, a sent or accepted one at the back office's next payment run. Every other
# state is left out of the total to be paid, and the figures say why (a state added later is left out
# too, with the plain reason, until it is given one here).
TO_BE_PAID = (Status.DRAFT, Status.SENT, Status.ACCEPTED)
NOT_TO_BE_PAID: dict[str, str] = {
    Status.HELD: "Not in the total: the council reviews it before it is sent.",
    Status.DISPUTED: "Not in the total: it is sent only with the dispute's outcome.",
    Status.REJECTED: "Not in the total: the back office will not pay it.",
    Status.PAID: "Not in the total: paid already.",
    Status.NOT_PAYABLE: "Not in the total: the council's challenge to it was upheld.",
}
NOT_IN_THE_TOTAL = "Not in the total."
STATUS_LABELS = dict(Status.choices)

# What a week's table shows of a line itself: the rest is not read (an attribute actuals/rendering.py reads
# that is not here costs a query a row, which tests/portal/test_query_budgets.py would catch).
ROW_FIELDS = (
    "status",
    "version",
    "planned",
    "delivered",
    "frustrated",
    "missed",
    "extra",
    "amount",
    "comment",
    "backoffice_reason",
    "correction_reason",
    "care_package_line_version",
)
# The care package line changed in the back office after the line was generated (as
# ActualLine.care_package_line_changed, in SQL).
PLAN_CHANGED = ~Q(care_package_line_version=F("care_package_line__version"))


def with_row_text(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    """`lines` with what a row of the week's table shows of its care package line, person and service
    type, as annotations (`row_person`, `row_person_ref`, `row_service`, `row_ref`, `row_plan_changed`):
    actuals/rendering.py reads these. Building the three related objects of each of a page's 50 lines
    cost the page about a millisecond (docs/benchmarks.md)."""
    return lines.annotate(
        row_person=F("care_package_line__service_user__name"),
        row_person_ref=F("care_package_line__service_user__ref"),
        row_service=F("care_package_line__service_type__name"),
        row_ref=F("care_package_line__ref"),
        row_plan_changed=ExpressionWrapper(PLAN_CHANGED, output_field=BooleanField()),
    )


def lines_for_week(*, provider: Provider, week: ProviderWeek) -> QuerySet[ActualLine]:
    """A week's lines with what their rows show (the provider and week are the page's already)."""
    return with_row_text(ActualLine.objects.for_provider(provider).filter(week=week).only(*ROW_FIELDS))


def week_for_provider(*, provider: Provider, week_start: dt.date) -> ProviderWeek | None:
    # Unordered: there is at most one, and the model's ordering would join the provider to sort it.
    return ProviderWeek.objects.for_provider(provider).filter(week_start=week_start).order_by().first()


def with_blocking(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    """The lines with an exception that must be fixed."""
    return lines.filter(
        Exists(LineException.objects.filter(line=OuterRef("pk"), severity=LineException.Severity.BLOCKING))
    )


def needing_reason(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    """The lines with an exception that still needs the provider's reason."""
    return lines.filter(
        Exists(
            LineException.objects.filter(
                line=OuterRef("pk"), severity=LineException.Severity.ACKNOWLEDGE, acknowledged_at__isnull=True
            )
        )
    )


def exceptions_by_line(lines: list[ActualLine]) -> dict[int, list[LineException]]:
    """The exceptions of a page of lines, in one query."""
    found: dict[int, list[LineException]] = {}
    for exception in LineException.objects.filter(line_id__in=[line.pk for line in lines]).order_by(
        "severity", "rule"
    ):
        found.setdefault(exception.line_id, []).append(exception)
    return found


@dataclass
class WeekSummary:
    """What a week's pages and the checklist show about it (`week_summaries`)."""

    week_start: dt.date
    deadline: dt.datetime
    week: ProviderWeek | None
    lines: int = 0
    amended: int = 0
    variances: int = 0
    exceptions: int = 0
    uncommented: int = 0
    blocking: int = 0
    blocking_lines: int = 0
    unacknowledged: int = 0
    acknowledged: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_status_amount: dict[str, Decimal] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return calendar.week_label(self.week_start)

    @property
    def generated(self) -> bool:
        return self.week is not None

    @property
    def confirmed(self) -> bool:
        return self.week is not None and self.week.is_confirmed

    @property
    def ended(self) -> bool:
        return calendar.week_has_ended(self.week_start)

    @property
    def overdue(self) -> bool:
        return not self.confirmed and clock.now() > self.deadline

    @property
    def ready_to_confirm(self) -> bool:
        return self.generated and not self.confirmed and not self.blocking and not self.unacknowledged

    @property
    def status_rows(self) -> list[tuple[str, int, Decimal]]:
        """Every state the week's lines are in: (label, lines, amount)."""
        return [
            (label, self.by_status[value], self.by_status_amount[value])
            for value, label in Status.choices
            if self.by_status.get(value)
        ]

    @property
    def to_pay(self) -> Decimal:
        """The total to be paid: the lines in TO_BE_PAID states only."""
        return sum((self.by_status_amount.get(status, ZERO) for status in TO_BE_PAID), ZERO)

    @property
    def to_pay_lines(self) -> int:
        return sum(self.by_status.get(status, 0) for status in TO_BE_PAID)

    @property
    def to_pay_rows(self) -> list[tuple[str, int, Decimal]]:
        """The states that make up the total to be paid: (label, lines, amount)."""
        return [
            (STATUS_LABELS[status], self.by_status[status], self.by_status_amount[status])
            for status in TO_BE_PAID
            if self.by_status.get(status)
        ]

    @property
    def not_to_pay_rows(self) -> list[tuple[str, str, int, Decimal, str]]:
        """The states left out of the total: (status, label, lines, amount, why it is left out)."""
        rows = []
        for status, label in Status.choices:
            if status not in TO_BE_PAID and self.by_status.get(status):
                why = NOT_TO_BE_PAID.get(status, NOT_IN_THE_TOTAL)
                rows.append((status, label, self.by_status[status], self.by_status_amount[status], why))
        return rows

    @property
    def state_label(self) -> str:
        if self.week is None:
            return "Not started"
        if self.week.is_confirmed:
            return "Confirmed late" if self.week.late else "Confirmed"
        return "Overdue" if self.overdue else "In progress"

    @property
    def state_colour(self) -> str:
        return {
            "Not started": "grey",
            "In progress": "blue",
            "Overdue": "red",
            "Confirmed": "green",
            "Confirmed late": "orange",
        }[self.state_label]


# A week's counts, for any number of weeks, in one statement: its lines by state, and its exceptions.
# Written as SQL because the ORM spent longer building the two aggregates than the database took to
# run them (about 2 ms of the actuals page; docs/benchmarks.md). Portable: PostgreSQL and SQLite (3.30+)
# both take FILTER. The variance is `differing_from_plan`'s, and the exceptions' counts must keep
# following LineException's severities and ACT-04: tests/actuals/test_selectors.py checks each.
_WEEK_COUNTS_SQL = """
WITH lines AS (
    SELECT week_id, status, COUNT(*) AS n, SUM(amount) AS amount,
        COUNT(*) FILTER (WHERE amended) AS amended,
        COUNT(*) FILTER (WHERE frustrated > 0 OR missed > 0 OR extra > 0 OR delivered <> planned) AS variances
    FROM actuals_actualline
    WHERE provider_id = %s AND week_id IN ({weeks})
    GROUP BY week_id, status
), exceptions AS (
    SELECT l.week_id, COUNT(*) AS exceptions,
        COUNT(*) FILTER (WHERE e.severity = %s) AS blocking,
        COUNT(DISTINCT e.line_id) FILTER (WHERE e.severity = %s) AS blocking_lines,
        COUNT(*) FILTER (WHERE e.rule = %s) AS uncommented,
        COUNT(*) FILTER (WHERE e.severity = %s AND e.acknowledged_at IS NULL) AS unacknowledged,
        COUNT(*) FILTER (WHERE e.acknowledged_at IS NOT NULL) AS acknowledged
    FROM actuals_lineexception e JOIN actuals_actualline l ON l.id = e.line_id
    WHERE l.provider_id = %s AND l.week_id IN ({weeks})
    GROUP BY l.week_id
)
SELECT lines.week_id, lines.status, lines.n, lines.amount, lines.amended, lines.variances,
    exceptions.exceptions, exceptions.blocking, exceptions.blocking_lines, exceptions.uncommented,
    exceptions.unacknowledged, exceptions.acknowledged
FROM lines LEFT JOIN exceptions ON exceptions.week_id = lines.week_id
"""
UNCOMMENTED_RULE = "ACT-04"  # a variance needs a comment


def _money(value: object) -> Decimal:
    """A SUM of amounts as the ORM would read it: SQLite answers a float, rounded here to the penny."""
    return ZERO if value is None else round_money(Decimal(str(value)))


def _count_weeks(provider: Provider, summaries: dict[int, WeekSummary]) -> None:
    """Fill in the counts of `summaries` (by their week's id), all in one query."""
    weeks = ", ".join(["%s"] * len(summaries))
    params: list[int | str] = [
        provider.pk,
        *summaries,
        Severity.BLOCKING.value,
        Severity.BLOCKING.value,
        UNCOMMENTED_RULE,
        Severity.ACKNOWLEDGE.value,
        provider.pk,
        *summaries,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_WEEK_COUNTS_SQL.format(weeks=weeks), params)
        rows = cursor.fetchall()
    for week_id, status, n, amount, amended, variances, *exceptions in rows:
        summary = summaries[week_id]
        summary.by_status[status] = n
        summary.by_status_amount[status] = _money(amount)
        summary.lines += n
        summary.amended += amended
        summary.variances += variances
        # The same on each of the week's rows: the week's exceptions, whatever their line's state.
        (
            summary.exceptions,
            summary.blocking,
            summary.blocking_lines,
            summary.uncommented,
            summary.unacknowledged,
            summary.acknowledged,
        ) = (count or 0 for count in exceptions)


def week_summaries(
    *, provider: Provider, week_starts: Iterable[dt.date], closed: Iterable[dt.date] | None = None
) -> list[WeekSummary]:
    """The summaries of the provider's weeks starting on `week_starts`, in that order: two queries however
    many weeks (and the closure days, unless given as `closed`, when a week not started needs its
    deadline)."""
    starts = list(week_starts)
    weeks = {
        week.week_start: week
        for week in ProviderWeek.objects.for_provider(provider).filter(week_start__in=starts).order_by()
    }
    if closed is None and any(start not in weeks for start in starts):
        closed = calendar.closure_days()
    summaries: dict[dt.date, WeekSummary] = {}
    for start in starts:
        week = weeks.get(start)
        deadline = week.deadline if week is not None else calendar.week_deadline(start, closed)
        summaries[start] = WeekSummary(start, deadline, week)
    generated = {week.pk: summaries[start] for start, week in weeks.items()}
    if generated:
        _count_weeks(provider, generated)
    return [summaries[start] for start in starts]


def week_summary(
    *, provider: Provider, week_start: dt.date, closed: Iterable[dt.date] | None = None
) -> WeekSummary:
    return week_summaries(provider=provider, week_starts=[week_start], closed=closed)[0]


def weeks_with_care_on_actuals(*, provider: Provider, week_starts: Iterable[dt.date]) -> set[dt.date]:
    """Of `week_starts`, the weeks in which some of the provider's care package lines run that are paid
    through actuals (`services.lines_running_in_week`, as the deadline tracker's `providers_expected`). In
    any other week there is nothing to record: all the care the provider gives that week is paid on
    invoice (a fostering agency's), or none runs.

    One small query however many weeks: the distinct spans (first day, last day) of the lines that could
    run in any of them, a line's last day being the earlier of its end and its person's death (PostgreSQL's
    LEAST ignores a null), then each week against the spans. Every page with the checklist asks this."""
    starts = sorted(set(week_starts))
    if not starts:
        return set()
    lines = paid_through_actuals(CarePackageLine.objects.for_provider(provider)).filter(
        running_in_weeks(starts[0], starts[-1])
    )
    spans = set(
        lines.annotate(last_day=Least("end_date", "service_user__deceased_on"))
        .values_list("start_date", "last_day")
        .order_by()
        .distinct()
    )
    return {
        start
        for start in starts
        if any(first <= calendar.week_end(start) and (last is None or last >= start) for first, last in spans)
    }


def open_earlier_weeks(
    *, provider: Provider, before: dt.date, closed: Iterable[dt.date] | None = None
) -> list[WeekSummary]:
    """Weeks before `before` still open, oldest first: generated but not confirmed, or never started (back
    to OPEN_WEEKS_BACK weeks, and not before the provider's portal access began). Only weeks there is
    something to confirm in: actual lines, or care package lines running that are paid through actuals;
    never a week whose care is all paid on invoice, which nobody could confirm. Without their counts."""
    first = before - dt.timedelta(weeks=OPEN_WEEKS_BACK)
    if provider.portal_enabled_at is not None:
        enabled_week = calendar.week_start_of(provider.portal_enabled_at.astimezone(calendar.LONDON).date())
        first = max(first, enabled_week)
    started = {
        week.week_start: week
        for week in ProviderWeek.objects.for_provider(provider)
        .filter(Q(state=ProviderWeek.State.IN_PROGRESS) | Q(week_start__gte=first), week_start__lt=before)
        .annotate(has_lines=Exists(ActualLine.objects.for_provider(provider).filter(week=OuterRef("pk"))))
        .order_by()
    }
    candidates: dict[dt.date, ProviderWeek | None] = {
        start: week for start, week in started.items() if not week.is_confirmed
    }
    day = first
    while day < before:
        if day not in started:
            candidates[day] = None
        day += dt.timedelta(days=7)
    with_lines = {
        start
        for start, week in candidates.items()
        if week is not None and week.has_lines  # type: ignore[attr-defined]
    }
    with_care = weeks_with_care_on_actuals(provider=provider, week_starts=set(candidates) - with_lines)
    listed = sorted(with_lines | with_care)
    if closed is None and any(candidates[start] is None for start in listed):
        closed = calendar.closure_days()
    weeks = []
    for start in listed:
        week = candidates[start]
        deadline = week.deadline if week is not None else calendar.week_deadline(start, closed)
        weeks.append(WeekSummary(start, deadline, week))
    return weeks


def recent_weeks(*, provider: Provider, count: int = 12) -> list[ProviderWeek]:
    return list(ProviderWeek.objects.for_provider(provider).order_by("-week_start")[:count])


def time_left(deadline: dt.datetime, now: dt.datetime | None = None) -> str:
    """'1 day 4 hours left', '35 minutes left', 'overdue by 2 days' — the checklist's countdown."""
    now = now or clock.now()
    seconds = int((deadline - now).total_seconds())
    overdue = seconds < 0
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours and days < 7:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and not hours:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    text = " ".join(parts)
    return f"overdue by {text}" if overdue else f"{text} left"


def lines_for_week_start(*, provider: Provider, week_start: dt.date) -> QuerySet[ActualLine]:
    """A week's lines with their related rows, and their row's text (a line's own page, the htmx row)."""
    lines = ActualLine.objects.for_provider(provider).filter(week__week_start=week_start).with_related()
    return with_row_text(lines)


def line_with_related(*, provider: Provider, pk: int) -> ActualLine:
    return with_row_text(ActualLine.objects.for_provider(provider).with_related()).get(pk=pk)


def differing_from_plan(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    return lines.filter(Q(frustrated__gt=0) | Q(missed__gt=0) | Q(extra__gt=0) | ~Q(delivered=F("planned")))


def changed_in_backoffice(lines: QuerySet[ActualLine]) -> QuerySet[ActualLine]:
    """Lines whose care package line changed after they were generated."""
    return lines.filter(PLAN_CHANGED)


def checklist(summary: WeekSummary) -> list[dict[str, str]]:
    """The weekly checklist (the provider's home page): each step with its count, state and link, for
    components/task_list.html."""
    from django.urls import reverse

    week = reverse("actuals_week", kwargs={"week": summary.week_start})

    def step(title: str, url: str, hint: str, done: bool, *, blocked: bool = False) -> dict[str, str]:
        if done:
            status, colour = "Completed", ""
        elif blocked:
            status, colour = "Cannot start yet", "grey"
        else:
            status, colour = "To do", "blue"
        return {"title": title, "url": url, "hint": hint, "status": status, "status_colour": colour}

    if not summary.generated:
        return [
            step(
                "Generate actuals",
                week,
                "One line for each care package line, filled in from the plan.",
                False,
            ),
            step("Amend lines that differ from plan", "", "", False, blocked=True),
            step("Comment on every variance", "", "", False, blocked=True),
            step("Review exceptions", "", "", False, blocked=True),
            step("Confirm the week", "", "", False, blocked=True),
        ]
    confirmed = summary.confirmed
    exceptions_left = summary.blocking + summary.unacknowledged
    return [
        step(
            "Generate actuals",
            week,
            f"{summary.lines} line{'s' if summary.lines != 1 else ''} generated.",
            True,
        ),
        step(
            "Amend lines that differ from plan",
            f"{week}?show=variance",
            f"{summary.amended} amended, {summary.variances} differ from plan.",
            confirmed or summary.amended > 0,
        ),
        step(
            "Comment on every variance",
            f"{week}?show=blocking",
            f"{summary.uncommented} variance{'s' if summary.uncommented != 1 else ''} without a comment.",
            summary.uncommented == 0,
        ),
        step(
            "Review exceptions",
            f"{week}?show={'blocking' if summary.blocking else 'reason'}",
            f"{summary.blocking} must be fixed, {summary.unacknowledged} need a reason.",
            exceptions_left == 0,
        ),
        step(
            "Confirm the week",
            reverse("actuals_confirm", kwargs={"week": summary.week_start}),
            "Confirmed." if confirmed else "On the scheduled payments page, with the declaration.",
            confirmed,
            blocked=not confirmed and (exceptions_left > 0 or not summary.ended),
        ),
    ]


# The council's exception review -------------------------------------------------------------------


def held_lines_for_staff(*, user: User) -> QuerySet[ActualLine]:
    """Lines held for finance review, across providers (the review queue)."""
    return ActualLine.objects.for_staff(user).filter(status=Status.HELD).with_related()


def reviewed_lines_for_staff(*, user: User) -> QuerySet[ActualLine]:
    """Lines that are, or were, in finance review: held now, or decided by a finance officer."""
    return (
        ActualLine.objects.for_staff(user)
        .filter(Q(status__in=[Status.HELD, Status.DISPUTED]) | Q(reviewed_at__isnull=False))
        .with_related()
        .select_related("week__confirmed_by", "reviewed_by")
    )


@dataclass(frozen=True)
class NextPayment:
    """What the back office's next payment run will pay the provider so far (its payment schedule, as the
    portal last copied it), with the actual lines in it grouped by week."""

    run_on: dt.date
    total: Decimal
    copied_at: dt.datetime
    by_week: list[tuple[dt.date, int, Decimal]]  # week, lines, amount
    other: list[tuple[str, int, Decimal]]  # invoices, expense claims, adjustments: kind, items, amount


def next_payment(*, provider: Provider) -> NextPayment | None:
    from remittances.models import PaymentSchedule, RemittanceLine

    schedule = PaymentSchedule.objects.filter(provider=provider).first()
    if schedule is None:
        return None
    items = [item for item in schedule.items if isinstance(item, dict)]
    line_ids = {
        int(item["portal_line_id"])
        for item in items
        if item.get("kind") == "actual_line" and str(item.get("portal_line_id") or "").isdigit()
    }
    weeks = dict(
        ActualLine.objects.for_provider(provider)
        .filter(pk__in=line_ids)
        .order_by()
        .values_list("pk", "week__week_start")
    )
    by_week: dict[dt.date, list[Decimal]] = {}
    other: dict[str, list[Decimal]] = {}
    labels = dict(RemittanceLine.Kind.choices)
    for item in items:
        amount = Decimal(str(item.get("amount") or "0"))
        week = (
            weeks.get(int(item["portal_line_id"]))
            if str(item.get("portal_line_id") or "").isdigit()
            else None
        )
        if item.get("kind") == "actual_line" and week is not None:
            by_week.setdefault(week, []).append(amount)
        else:
            kind = str(item.get("kind") or "")
            other.setdefault(str(labels.get(kind, kind or "Other")), []).append(amount)
    return NextPayment(
        run_on=schedule.next_run_on,
        total=schedule.total,
        copied_at=schedule.copied_at,
        by_week=[(week, len(amounts), sum(amounts, ZERO)) for week, amounts in sorted(by_week.items())],
        other=[(kind, len(amounts), sum(amounts, ZERO)) for kind, amounts in sorted(other.items())],
    )
