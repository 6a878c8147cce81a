"""The reports' figures, computed in the database: each function is one report, returns a `Report`, and
runs a fixed number of queries however many rows it shows (aggregates grouped with values/annotate,
counts with filters). Council reports start from the staff querysets (`for_staff`: nothing for anyone
else); provider reports from the provider in use (`for_provider`), so another provider's rows are not in
them.

How each figure is made is said in the report's `notes` (shown under it and written into its files).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Round, TruncMonth

from actuals import calendar
from actuals.models import ActualLine, LineException, ProviderWeek
from actuals.reminders import providers_expected
from actuals.rules import RULES
from actuals.selectors import open_earlier_weeks, week_summaries
from disputes.models import Team, Thread
from portal import clock
from portal.clock import LONDON
from portal.money import ZERO, round_money
from portal.providers.models import Provider, ServiceType
from remittances.models import Remittance, RemittanceLine
from reports import periods
from reports.tables import Column, Report, Table, share

if TYPE_CHECKING:
    from portal.accounts.models import User

Status = ActualLine.Status
WEEK_CONFIRMED = (ProviderWeek.State.CONFIRMED, ProviderWeek.State.CORRECTED)
SENT_ON = (Status.SENT, Status.ACCEPTED, Status.REJECTED, Status.PAID)
ACCEPTED = (Status.ACCEPTED, Status.PAID)
OPEN_THREADS = (Thread.State.OPEN, Thread.State.AWAITING_PROVIDER, Thread.State.AWAITING_COUNCIL)
MONEY_FIELD: Any = DecimalField(max_digits=20, decimal_places=4)


def _money(value: object) -> Decimal:
    """A SUM of amounts: Decimal to the penny (SQLite answers a float; nothing summed is a penny off)."""
    return ZERO if value is None else round_money(Decimal(str(value)))


def _quantity(value: object) -> Decimal:
    return Decimal("0.00") if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _week_range(lines: QuerySet[ActualLine], first: dt.date, last: dt.date) -> QuerySet[ActualLine]:
    return lines.filter(week__week_start__gte=first, week__week_start__lte=last)


def _weeks_text(first: dt.date, last: dt.date) -> str:
    if first == last:
        return calendar.week_label(first)
    return f"{calendar.week_label(first)} to {calendar.week_label(last).lower()}"


def _provider_text(provider: Provider | None) -> str:
    return f"{provider.name} ({provider.ref})" if provider else "All providers"


# Submission compliance ---------------------------------------------------------------------------

ON_TIME, LATE, MISSING, NOT_DUE = "on_time", "late", "missing", "not_due"
COMPLIANCE_STATES = [
    (ON_TIME, "On time"),
    (LATE, "Late"),
    (MISSING, "Missing"),
    (NOT_DUE, "Not due yet"),
]
COMPLIANCE_LABELS = dict(COMPLIANCE_STATES)


@dataclass(frozen=True)
class ExpectedWeek:
    """One provider expected to confirm one week (`providers_expected`), and where it stands."""

    provider_id: int
    name: str
    ref: str
    week_start: dt.date
    week_state: str | None  # the ProviderWeek's state, None when it was never generated
    late: bool
    confirmed_at: dt.datetime | None
    deadline: dt.datetime

    def state(self, now: dt.datetime) -> str:
        if self.week_state in WEEK_CONFIRMED:
            return LATE if self.late else ON_TIME
        return MISSING if now > self.deadline else NOT_DUE

    @property
    def detail(self) -> str:
        if self.week_state in WEEK_CONFIRMED:
            return "Confirmed late" if self.late else "Confirmed on time"
        return "In progress" if self.week_state else "Not started"


def expected_weeks(
    *, weeks: Sequence[dt.date], provider: Provider | None = None, closed: set[dt.date] | None = None
) -> list[ExpectedWeek]:
    """Every (provider, week) where the provider was expected to confirm the week, for all `weeks`, in one
    query: a UNION ALL of `providers_expected` for each week, each row with its week's state."""
    if not weeks:
        return []
    parts = []
    for week_start in weeks:
        week = ProviderWeek.objects.all_providers_for_workers().filter(
            provider=OuterRef("pk"), week_start=week_start
        )
        expected = providers_expected(week_start=week_start).order_by()
        if provider is not None:
            expected = expected.filter(pk=provider.pk)
        parts.append(
            expected.annotate(
                report_week=Value(week_start, output_field=DateField()),
                report_state=Subquery(week.values("state")[:1]),
                report_late=Subquery(week.values("late")[:1]),
                report_confirmed_at=Subquery(week.values("confirmed_at")[:1]),
            ).values_list(
                "pk", "name", "ref", "report_week", "report_state", "report_late", "report_confirmed_at"
            )
        )
    first, *rest = parts
    rows = first.union(*rest, all=True) if rest else first
    closed = calendar.closure_days() if closed is None else closed
    deadlines = {week: calendar.week_deadline(week, closed) for week in weeks}
    found = [
        ExpectedWeek(pk, name, ref, week, state, bool(late), confirmed_at, deadlines[week])
        for pk, name, ref, week, state, late, confirmed_at in rows
    ]
    found.sort(key=lambda e: (e.week_start, e.name.lower(), e.ref))
    return found


def _states_row(states: Counter[str]) -> list[Any]:
    expected = sum(states.values())
    due = expected - states[NOT_DUE]
    return [expected, *(states[state] for state, _ in COMPLIANCE_STATES), share(states[ON_TIME], due)]


COMPLIANCE_COLUMNS = [
    Column("Expected", "int"),
    *(Column(label, "int") for _, label in COMPLIANCE_STATES),
    Column("On time (of those due)", "percent"),
]


def compliance_report(
    *, user: User, first: dt.date, last: dt.date, provider: Provider | None = None
) -> Report:
    """Who confirmed each week on time, late, or not at all, by week and by provider."""
    weeks = periods.weeks_between(first, last) if user.is_council_staff else []
    now = clock.now()
    closed = calendar.closure_days() if weeks else set()
    expected = expected_weeks(weeks=weeks, provider=provider, closed=closed)
    by_week: dict[dt.date, Counter[str]] = {week: Counter() for week in weeks}
    by_provider: dict[int, Counter[str]] = defaultdict(Counter)
    names: dict[int, tuple[str, str]] = {}
    for row in expected:
        state = row.state(now)
        by_week[row.week_start][state] += 1
        by_provider[row.provider_id][state] += 1
        names[row.provider_id] = (row.name, row.ref)
    week_table = Table(
        "by_week",
        "By week",
        [Column("Week", "date"), Column("Deadline", "datetime"), *COMPLIANCE_COLUMNS],
        [
            [week, calendar.week_deadline(week, closed), *_states_row(by_week[week])]
            for week in sorted(weeks, reverse=True)
        ],
    )
    total = sum(by_week.values(), Counter())
    week_table.totals = ["All weeks", None, *_states_row(total)]
    provider_rows = sorted(
        by_provider.items(),
        key=lambda item: (-item[1][MISSING], -item[1][LATE], names[item[0]][0].lower(), names[item[0]][1]),
    )
    provider_table = Table(
        "by_provider",
        "By provider",
        [Column("Provider"), Column("Reference"), *COMPLIANCE_COLUMNS],
        [[*names[pk], *_states_row(states)] for pk, states in provider_rows],
        totals=["All providers", None, *_states_row(total)],
        paged=True,
    )
    detail = Table(
        "detail",
        "Every provider and week",
        [
            Column("Provider"),
            Column("Reference"),
            Column("Week", "date"),
            Column("State"),
            Column("Where the week is"),
            Column("Confirmed", "datetime"),
        ],
        [
            [
                row.name,
                row.ref,
                row.week_start,
                COMPLIANCE_LABELS[row.state(now)],
                row.detail,
                row.confirmed_at,
            ]
            for row in expected
        ],
        detail=True,
    )
    return Report(
        "Submission compliance",
        [
            ("Weeks", _weeks_text(weeks[0], weeks[-1]) if weeks else "None"),
            ("Provider", _provider_text(provider)),
        ],
        [week_table, provider_table, detail],
        notes=[
            "Expected: providers with portal access on, active in the back office and with care package "
            "lines paid through actuals running in the week, or with actual lines for it anyway (as the "
            "deadline tracker counts them).",
            "On time and late: confirmed before or after the week's deadline. Missing: not confirmed and "
            "the deadline has passed. Not due yet: not confirmed, the deadline still to come.",
        ],
    )


def week_compliance(*, user: User, week_start: dt.date, closed: set[dt.date] | None = None) -> dict[str, int]:
    """The counts of one week by compliance state (the finance dashboard): one query (and the closure
    days, unless given)."""
    now = clock.now()
    if not user.is_council_staff:
        return {state: 0 for state, _ in COMPLIANCE_STATES} | {"expected": 0}
    found = Counter(row.state(now) for row in expected_weeks(weeks=[week_start], closed=closed))
    return {state: found[state] for state, _ in COMPLIANCE_STATES} | {"expected": sum(found.values())}


# Exceptions by rule and outcome ------------------------------------------------------------------

OUTCOMES = [
    ("not_confirmed", "Not confirmed yet"),
    ("waiting", "Waiting for review"),
    ("approved", "Approved"),
    ("disputed", "Disputed, open"),
    ("upheld", "Dispute upheld"),
    ("adjusted", "Dispute adjusted"),
    ("withdrawn", "Dispute withdrawn"),
    ("sent", "Sent without review"),
]
DISPUTE_OUTCOMES = ("disputed", "upheld", "adjusted", "withdrawn")
# Grouped by the `outcome` annotation (named in tuples: django-stubs cannot see annotations).
BY_RULE = ("rule", "outcome")
BY_PROVIDER = ("line__provider__name", "line__provider__ref", "outcome")
SEVERITY_LABELS = dict(LineException.Severity.choices)
RULE_TEXT = {rule.id: rule.text for rule in RULES}
RULE_SEVERITY = {rule.id: rule.severity for rule in RULES}


def _with_outcome(exceptions: QuerySet[LineException]) -> QuerySet[LineException]:
    """Each exception with what became of its line: one of OUTCOMES (the line's state, and the outcome of
    the latest dispute the council raised on it in review, if any)."""
    # The council's disputes on the line as confirmed (raised in review), not a provider's payment dispute
    # about it once paid: that one says nothing of what the review decided.
    dispute = (
        Thread.objects.all_providers_for_workers()
        .filter(
            lines=OuterRef("line_id"),
            kind=Thread.Kind.DISPUTE,
            claimed_amount__isnull=True,
            remittance_line__isnull=True,
        )
        .order_by("-raised_at", "-pk")
    )
    return exceptions.annotate(
        dispute_outcome=Subquery(dispute.values("outcome")[:1]),
        outcome=Case(
            When(line__status=Status.DRAFT, then=Value("not_confirmed")),
            When(line__status=Status.HELD, then=Value("waiting")),
            When(dispute_outcome="", then=Value("disputed")),
            When(dispute_outcome=Thread.Outcome.UPHELD, then=Value("upheld")),
            When(dispute_outcome=Thread.Outcome.ADJUSTED, then=Value("adjusted")),
            When(dispute_outcome=Thread.Outcome.WITHDRAWN, then=Value("withdrawn")),
            When(line__status=Status.DISPUTED, then=Value("disputed")),
            When(line__status=Status.NOT_PAYABLE, then=Value("upheld")),
            When(line__reviewed_at__isnull=False, then=Value("approved")),
            default=Value("sent"),
        ),
    )


def exceptions_report(
    *, user: User, first: dt.date, last: dt.date, provider: Provider | None = None, severity: str = ""
) -> Report:
    """The exceptions on the weeks' lines, by rule and by provider, each by what became of the line."""
    lines = _week_range(ActualLine.objects.for_staff(user), first, last)
    if provider is not None:
        lines = lines.filter(provider=provider)
    exceptions = LineException.objects.filter(line__in=lines.values("pk"))
    if severity:
        exceptions = exceptions.filter(severity=severity)
    exceptions = _with_outcome(exceptions)
    by_rule: dict[str, Counter[str]] = defaultdict(Counter)
    for rule, outcome, count in (
        exceptions.order_by().values_list(*BY_RULE).annotate(n=Count("pk")).values_list(*BY_RULE, "n")
    ):
        by_rule[rule][outcome] += count
    by_provider: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for name, ref, outcome, count in (
        exceptions.order_by().values_list(*BY_PROVIDER).annotate(n=Count("pk")).values_list(*BY_PROVIDER, "n")
    ):
        by_provider[(name, ref)][outcome] += count
    outcome_columns = [Column(label, "int") for _, label in OUTCOMES]

    def counts(found: Counter[str]) -> list[int]:
        return [sum(found.values()), *(found[key] for key, _ in OUTCOMES)]

    rule_table = Table(
        "by_rule",
        "By rule",
        [
            Column("Rule"),
            Column("What it checks"),
            Column("Severity"),
            Column("Exceptions", "int"),
            *outcome_columns,
        ],
        [
            [
                rule,
                RULE_TEXT.get(rule, ""),
                SEVERITY_LABELS.get(RULE_SEVERITY.get(rule, ""), ""),
                *counts(found),
            ]
            for rule, found in sorted(by_rule.items())
        ],
        totals=["All rules", None, None, *counts(sum(by_rule.values(), Counter()))],
    )
    provider_table = Table(
        "by_provider",
        "By provider",
        [
            Column("Provider"),
            Column("Reference"),
            Column("Exceptions", "int"),
            Column("Waiting for review", "int"),
            Column("Approved", "int"),
            Column("Disputed", "int"),
            Column("Not confirmed yet", "int"),
        ],
        [
            [
                name,
                ref,
                sum(found.values()),
                found["waiting"],
                found["approved"],
                sum(found[key] for key in DISPUTE_OUTCOMES),
                found["not_confirmed"],
            ]
            for (name, ref), found in sorted(
                by_provider.items(), key=lambda item: (-sum(item[1].values()), item[0][0].lower())
            )
        ],
        paged=True,
    )
    return Report(
        "Exceptions by rule and outcome",
        [
            ("Weeks", _weeks_text(first, last)),
            ("Provider", _provider_text(provider)),
            ("Severity", SEVERITY_LABELS.get(severity, "All")),
        ],
        [rule_table, provider_table],
        notes=[
            "The exceptions on the weeks' actual lines as they stand now (an exception fixed on a draft "
            "line is gone).",
            "Outcome: what became of the line: still a draft; held and waiting for a finance officer; "
            "approved; disputed (the latest dispute on it open, upheld, adjusted or withdrawn); or sent to "
            "the back office without review.",
        ],
    )


# Variance of actual against plan -----------------------------------------------------------------


def _line_amount(quantity: str) -> Any:
    """A quantity of the line at the line's rate, rounded once a line, half up to the penny."""
    return Round(ExpressionWrapper(F(quantity) * F("rate"), output_field=MONEY_FIELD), 2)


def variance_aggregates() -> dict[str, Any]:
    return {
        "n": Count("pk"),
        "planned_sum": Sum("planned"),
        "delivered_sum": Sum("delivered"),
        "frustrated_sum": Sum("frustrated"),
        "missed_sum": Sum("missed"),
        "extra_sum": Sum("extra"),
        "planned_amount": Sum(_line_amount("planned")),
        "delivered_amount": Sum(_line_amount("delivered")),
        # A line whose dispute was upheld before it was sent keeps its amount but pays nothing.
        "paid_amount": Sum("amount", filter=~Q(status=Status.NOT_PAYABLE)),
    }


@dataclass(frozen=True)
class VarianceFigures:
    lines: int
    planned: Decimal
    delivered: Decimal
    frustrated: Decimal
    missed: Decimal
    extra: Decimal
    planned_amount: Decimal
    delivered_amount: Decimal
    paid_amount: Decimal

    @classmethod
    def of(cls, row: dict[str, Any]) -> VarianceFigures:
        return cls(
            row["n"],
            _quantity(row["planned_sum"]),
            _quantity(row["delivered_sum"]),
            _quantity(row["frustrated_sum"]),
            _quantity(row["missed_sum"]),
            _quantity(row["extra_sum"]),
            _money(row["planned_amount"]),
            _money(row["delivered_amount"]),
            _money(row["paid_amount"]),
        )

    def __add__(self, other: VarianceFigures) -> VarianceFigures:
        return VarianceFigures(
            self.lines + other.lines,
            self.planned + other.planned,
            self.delivered + other.delivered,
            self.frustrated + other.frustrated,
            self.missed + other.missed,
            self.extra + other.extra,
            self.planned_amount + other.planned_amount,
            self.delivered_amount + other.delivered_amount,
            self.paid_amount + other.paid_amount,
        )

    @property
    def variance(self) -> Decimal:
        return self.delivered - self.planned

    @property
    def variance_amount(self) -> Decimal:
        return self.delivered_amount - self.planned_amount

    def units(self) -> list[Any]:
        return [self.lines, self.planned, self.delivered, self.variance]

    def amounts(self) -> list[Any]:
        return [self.planned_amount, self.delivered_amount, self.variance_amount, self.paid_amount]


UNIT_COLUMNS = [
    Column("Lines", "int"),
    Column("Planned", "quantity"),
    Column("Delivered", "quantity"),
    Column("Variance", "quantity"),
]
AMOUNT_COLUMNS = [
    Column("Planned £", "money"),
    Column("Delivered £", "money"),
    Column("Variance £", "money"),
    Column("Paid £", "money"),
]
SERVICE_TYPE = "care_package_line__service_type"
UNIT_LABELS = dict(ServiceType.Unit.choices)


def _money_totals(figures: Iterable[VarianceFigures]) -> list[Any]:
    rows = list(figures)
    planned = sum((f.planned_amount for f in rows), ZERO)
    delivered = sum((f.delivered_amount for f in rows), ZERO)
    return [planned, delivered, delivered - planned, sum((f.paid_amount for f in rows), ZERO)]


def variance_lines(
    lines: QuerySet[ActualLine],
    *,
    first: dt.date,
    last: dt.date,
    service_type: ServiceType | None = None,
    include_drafts: bool = False,
) -> QuerySet[ActualLine]:
    lines = _week_range(lines, first, last)
    if service_type is not None:
        lines = lines.filter(care_package_line__service_type=service_type)
    if not include_drafts:
        lines = lines.exclude(status=Status.DRAFT)
    return lines


VARIANCE_NOTES = [
    "Planned and delivered are the lines' quantities in the service type's unit; variance is delivered "
    "less planned.",
    "Planned £ and delivered £ are those quantities at each line's rate, rounded half up to the penny once "
    "a line. Paid £ is what each line pays (DOMAIN.md, “What is paid”: delivered, frustrated and "
    "referenced extra for care paid on actuals; the plan and referenced extra for care paid on plan); a "
    "line not payable (the council's challenge to it upheld) pays nothing.",
]


def _variance_by_provider_and_type(
    lines: QuerySet[ActualLine],
) -> list[tuple[dict[str, Any], VarianceFigures]]:
    """The lines' figures grouped by provider and service type, in three queries: the aggregate grouped on
    the two ids alone (a hash aggregate; grouping on the names as well made PostgreSQL sort every line of a
    quarter by them, on disk: docs/benchmarks.md), then the names of the providers and service types."""
    found = list(
        lines.order_by().values("provider_id", f"{SERVICE_TYPE}_id").annotate(**variance_aggregates())
    )
    if not found:
        return []
    providers = {
        pk: (name, ref)
        for pk, name, ref in Provider.objects.filter(
            pk__in={row["provider_id"] for row in found}
        ).values_list("pk", "name", "ref")
    }
    types = {
        pk: (name, unit)
        for pk, name, unit in ServiceType.objects.filter(
            pk__in={row[f"{SERVICE_TYPE}_id"] for row in found}
        ).values_list("pk", "name", "unit")
    }
    grouped = []
    for row in found:
        name, ref = providers[row["provider_id"]]
        type_name, unit = types[row[f"{SERVICE_TYPE}_id"]]
        keys = {
            "provider__name": name,
            "provider__ref": ref,
            f"{SERVICE_TYPE}__name": type_name,
            f"{SERVICE_TYPE}__unit": unit,
        }
        grouped.append((keys, VarianceFigures.of(row)))
    grouped.sort(
        key=lambda item: (
            name_key(item[0]["provider__name"]),
            item[0]["provider__ref"],
            name_key(item[0][f"{SERVICE_TYPE}__name"]),
        )
    )
    return grouped


def name_key(name: str) -> str:
    """How names sort in a report: without regard to case."""
    return name.casefold()


def variance_report(
    *,
    user: User,
    first: dt.date,
    last: dt.date,
    provider: Provider | None = None,
    service_type: ServiceType | None = None,
    include_drafts: bool = False,
) -> Report:
    """Actual against plan, in units and money, by provider and service type (and by service type)."""
    lines = variance_lines(
        ActualLine.objects.for_staff(user),
        first=first,
        last=last,
        service_type=service_type,
        include_drafts=include_drafts,
    )
    if provider is not None:
        lines = lines.filter(provider=provider)
    grouped = _variance_by_provider_and_type(lines)
    # By service type: the rows above rolled up (sums of sums: the same figures as grouping again, without
    # reading the lines a second time).
    rolled: dict[tuple[str, str], VarianceFigures] = {}
    for row, figures in grouped:
        key = (row[f"{SERVICE_TYPE}__name"], row[f"{SERVICE_TYPE}__unit"])
        rolled[key] = rolled[key] + figures if key in rolled else figures
    by_type = [
        ({f"{SERVICE_TYPE}__name": name, f"{SERVICE_TYPE}__unit": unit}, figures)
        for (name, unit), figures in sorted(rolled.items(), key=lambda item: name_key(item[0][0]))
    ]
    all_lines = sum(f.lines for _, f in by_type)
    provider_table = Table(
        "by_provider",
        "By provider and service type",
        [
            Column("Provider"),
            Column("Reference"),
            Column("Service type"),
            Column("Unit"),
            *UNIT_COLUMNS,
            *AMOUNT_COLUMNS,
        ],
        [
            [
                row["provider__name"],
                row["provider__ref"],
                row[f"{SERVICE_TYPE}__name"],
                UNIT_LABELS.get(row[f"{SERVICE_TYPE}__unit"], ""),
                *figures.units(),
                *figures.amounts(),
            ]
            for row, figures in grouped
        ],
        totals=[
            "All providers",
            None,
            None,
            None,
            all_lines,
            None,
            None,
            None,
            *_money_totals(f for _, f in by_type),
        ],
        paged=True,
    )
    type_table = Table(
        "by_service_type",
        "By service type",
        [Column("Service type"), Column("Unit"), *UNIT_COLUMNS, *AMOUNT_COLUMNS],
        [
            [
                row[f"{SERVICE_TYPE}__name"],
                UNIT_LABELS.get(row[f"{SERVICE_TYPE}__unit"], ""),
                *figures.units(),
                *figures.amounts(),
            ]
            for row, figures in by_type
        ],
        totals=[
            "All service types",
            None,
            all_lines,
            None,
            None,
            None,
            *_money_totals(f for _, f in by_type),
        ],
    )
    return Report(
        "Variance of actual against plan",
        [
            ("Weeks", _weeks_text(first, last)),
            ("Provider", _provider_text(provider)),
            ("Service type", service_type.name if service_type else "All service types"),
            ("Lines", "Confirmed and drafts" if include_drafts else "Confirmed only"),
        ],
        [type_table, provider_table],
        notes=VARIANCE_NOTES,
    )


# 4-weekly charging readiness ---------------------------------------------------------------------


def charging_report(
    *,
    user: User,
    first: periods.ChargingPeriod,
    last: periods.ChargingPeriod,
    provider: Provider | None = None,
) -> Report:
    """For each charging period, the share of its lines confirmed and accepted by the back office, and the
    provider weeks still to confirm: whether the back office can bill people's contributions for it."""
    spans = periods.charging_periods(first, last)
    today = clock.today()
    lines = _week_range(ActualLine.objects.for_staff(user), spans[0].start, spans[-1].end)
    if provider is not None:
        lines = lines.filter(provider=provider)
    period_of = Case(
        *(
            When(week__week_start__gte=p.start, week__week_start__lte=p.end, then=Value(p.number))
            for p in spans
        ),
        output_field=IntegerField(),
    )
    aggregates = {
        "n": Count("pk"),
        "confirmed": Count("pk", filter=~Q(status=Status.DRAFT)),
        "accepted": Count("pk", filter=Q(status__in=ACCEPTED)),
        "rejected": Count("pk", filter=Q(status=Status.REJECTED)),
        "not_payable": Count("pk", filter=Q(status=Status.NOT_PAYABLE)),
        "delivered_amount": Sum(_line_amount("delivered")),
    }
    by_period = {
        row["period"]: row
        for row in lines.order_by().annotate(period=period_of).values("period").annotate(**aggregates)
    }
    # The weeks someone could have confirmed: from the portal's first week (a period it starts in the middle
    # of was claimed the old way before it) to the week in progress.
    first_week = calendar.week_start_of(settings.ACTUALS_FROM)
    weeks = (
        [week for p in spans for week in p.weeks if first_week <= week <= today]
        if user.is_council_staff
        else []
    )
    unconfirmed: Counter[int] = Counter()
    unconfirmed_by_provider: Counter[int] = Counter()
    for expected in expected_weeks(weeks=weeks, provider=provider):
        if expected.week_state not in WEEK_CONFIRMED:
            unconfirmed[periods.charging_period_of(expected.week_start).number] += 1
            unconfirmed_by_provider[expected.provider_id] += 1
    empty = dict.fromkeys(aggregates, 0) | {"delivered_amount": None}
    rows = []
    for p in reversed(spans):
        row = by_period.get(p.number, empty)
        settled = row["accepted"] + row["not_payable"]
        if not p.has_ended(today):
            ready = "Not ended yet"
        elif row["n"] and settled == row["n"] and not unconfirmed[p.number]:
            ready = "Ready"
        else:
            ready = "Not ready"
        rows.append(
            [
                f"Period {p.number}",
                p.start,
                p.end,
                row["n"],
                row["confirmed"],
                row["accepted"],
                share(row["confirmed"], row["n"]),
                share(row["accepted"], row["n"]),
                row["rejected"],
                unconfirmed[p.number],
                _money(row["delivered_amount"]),
                ready,
            ]
        )
    period_table = Table(
        "by_period",
        "By charging period",
        [
            Column("Period"),
            Column("From", "date"),
            Column("To", "date"),
            Column("Lines", "int"),
            Column("Confirmed", "int"),
            Column("Accepted", "int"),
            Column("Confirmed share", "percent"),
            Column("Accepted share", "percent"),
            Column("Rejected", "int"),
            Column("Provider weeks not confirmed", "int"),
            Column("Delivered £", "money"),
            Column("Charging"),
        ],
        rows,
    )
    by_provider = {
        row["provider_id"]: row
        for row in lines.order_by()
        .values("provider_id")
        .annotate(**aggregates)
        .values("provider_id", "provider__name", "provider__ref", *aggregates)
    }
    # Providers with weeks to confirm and no lines at all in these periods are listed too.
    missing_only = set(unconfirmed_by_provider) - set(by_provider)
    names = {
        pk: {"provider__name": name, "provider__ref": ref}
        for pk, name, ref in (
            Provider.objects.filter(pk__in=missing_only).values_list("pk", "name", "ref")
            if missing_only
            else []
        )
    }
    provider_rows = []
    for pk in set(by_provider) | missing_only:
        row = by_provider.get(pk) or empty | names[pk]
        provider_rows.append(
            [
                row["provider__name"],
                row["provider__ref"],
                row["n"],
                row["confirmed"],
                row["accepted"],
                share(row["confirmed"], row["n"]),
                share(row["accepted"], row["n"]),
                row["rejected"],
                unconfirmed_by_provider[pk],
            ]
        )
    provider_rows.sort(key=lambda r: (r[6] if r[6] is not None else Decimal(-1), -r[8], r[0].lower()))
    provider_table = Table(
        "by_provider",
        "By provider, over these periods",
        [
            Column("Provider"),
            Column("Reference"),
            Column("Lines", "int"),
            Column("Confirmed", "int"),
            Column("Accepted", "int"),
            Column("Confirmed share", "percent"),
            Column("Accepted share", "percent"),
            Column("Rejected", "int"),
            Column("Provider weeks not confirmed", "int"),
        ],
        provider_rows,
        paged=True,
    )
    return Report(
        "4-weekly charging readiness",
        [
            ("Periods", f"{first.label} to {last.label}" if first != last else first.label),
            ("Provider", _provider_text(provider)),
        ],
        [period_table, provider_table],
        notes=[
            "Charging periods are blocks of four weeks counted from "
            f"{periods.short(settings.CHARGING_PERIODS_FROM)} (the first week of the financial year).",
            "Confirmed: the provider has confirmed the line. Accepted: the back office has accepted it (or "
            "paid it). A period is ready to charge once it has ended, every expected provider week is "
            "confirmed and every line is accepted (or settled as not payable in a dispute). Weeks before "
            "the portal's first week were claimed before it and are not counted.",
            "Delivered £: the delivered quantities at the lines' rates, what people's contributions are "
            "capped at.",
        ],
    )


# Dispute and query ageing ------------------------------------------------------------------------

AGE_BANDS = [("0 to 2 days", 0, 2), ("3 to 7 days", 3, 7), ("8 to 14 days", 8, 14), ("15 to 30 days", 15, 30)]
OVER_LAST_BAND = "Over 30 days"
RAG_LABELS = [("red", "Overdue"), ("amber", "Due soon"), ("green", "On time")]


def _london_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=LONDON)


def ageing_aggregates(today: dt.date) -> dict[str, Any]:
    """Open threads counted by age (days since raised, London dates) and by due status (red: past its due
    date; amber: due within two days; green: later), as `Thread.rag` says."""
    aggregates: dict[str, Any] = {"open": Count("pk"), "oldest": Min("raised_at")}
    for i, (_, low, high) in enumerate(AGE_BANDS):
        since = _london_midnight(today - dt.timedelta(days=high))
        condition = Q(raised_at__gte=since)
        if low:
            condition &= Q(raised_at__lt=_london_midnight(today - dt.timedelta(days=low - 1)))
        aggregates[f"band_{i}"] = Count("pk", filter=condition)
    aggregates["band_over"] = Count(
        "pk", filter=Q(raised_at__lt=_london_midnight(today - dt.timedelta(days=AGE_BANDS[-1][2])))
    )
    aggregates["red"] = Count("pk", filter=Q(due_on__lt=today))
    aggregates["amber"] = Count("pk", filter=Q(due_on__gte=today, due_on__lte=today + dt.timedelta(days=2)))
    aggregates["green"] = Count("pk", filter=Q(due_on__gt=today + dt.timedelta(days=2)))
    return aggregates


AGEING_COLUMNS = [
    Column("Open", "int"),
    *(Column(label, "int") for label, _, _ in AGE_BANDS),
    Column(OVER_LAST_BAND, "int"),
    *(Column(label, "int") for _, label in RAG_LABELS),
    Column("Oldest (days)", "int"),
]


def _ageing_values(row: dict[str, Any], today: dt.date) -> list[Any]:
    oldest = row.get("oldest")
    age = (today - oldest.astimezone(LONDON).date()).days if oldest else None
    return [
        row["open"],
        *(row[f"band_{i}"] for i in range(len(AGE_BANDS))),
        row["band_over"],
        *(row[key] for key, _ in RAG_LABELS),
        age,
    ]


def _ageing_totals(rows: Iterable[dict[str, Any]], today: dt.date) -> list[Any]:
    rows = list(rows)
    keys = ["open", *(f"band_{i}" for i in range(len(AGE_BANDS))), "band_over", *(k for k, _ in RAG_LABELS)]
    total: dict[str, Any] = {key: sum(row[key] for row in rows) for key in keys}
    oldest = [row["oldest"] for row in rows if row["oldest"]]
    total["oldest"] = min(oldest) if oldest else None
    return _ageing_values(total, today)


def _thread_type(kind: str, query_type: str) -> str:
    if kind == Thread.Kind.QUERY and query_type:
        return f"Query: {Thread.QueryType(query_type).label.lower()}"
    return Thread.Kind(kind).label


def _ageing_by_type(threads: QuerySet[Thread], today: dt.date) -> Table:
    rows = list(threads.order_by().values("kind", "query_type").annotate(**ageing_aggregates(today)))
    rows.sort(key=lambda r: _thread_type(r["kind"], r["query_type"]))
    return Table(
        "by_type",
        "By type",
        [Column("Type"), *AGEING_COLUMNS],
        [[_thread_type(r["kind"], r["query_type"]), *_ageing_values(r, today)] for r in rows],
        totals=["All types", *_ageing_totals(rows, today)],
        empty="No disputes or queries are open.",
    )


def _open_threads_table(
    threads: QuerySet[Thread], today: dt.date, *, detail: bool, with_provider: bool
) -> Table:
    columns = [Column("Reference"), Column("Type"), Column("Subject")]
    if with_provider:
        columns += [Column("Provider"), Column("Provider reference")]
    columns += [
        Column("Team"),
        Column("State"),
        Column("Raised", "date"),
        Column("Due", "date"),
        Column("Age (days)", "int"),
        Column("Due status"),
    ]
    rag = dict(RAG_LABELS)
    rows = []
    for thread in threads.select_related("provider", "team").order_by("due_on", "raised_at", "pk"):
        raised = thread.raised_at.astimezone(LONDON).date()
        row: list[Any] = [thread.ref, _thread_type(thread.kind, thread.query_type), thread.subject]
        if with_provider:
            row += [thread.provider.name, thread.provider.ref]
        row += [
            thread.team.name,
            thread.get_state_display(),
            raised,
            thread.due_on,
            (today - raised).days,
            rag.get(thread.rag(today), ""),
        ]
        rows.append(row)
    return Table(
        "open_threads",
        "Open disputes and queries",
        columns,
        rows,
        detail=detail,
        paged=not detail,
        empty="No disputes or queries are open.",
    )


AGEING_NOTES = [
    "Open: waiting for the council or for the provider (not resolved or closed). Age: days since it was "
    "raised. Overdue: past its due date; due soon: due within two days; on time: due later.",
]


def ageing_report(
    *,
    user: User,
    team: Team | None = None,
    kind: str = "",
    provider: Provider | None = None,
) -> Report:
    """Open disputes and queries by age and against their due dates, by team and by type."""
    today = clock.today()
    threads = Thread.objects.for_staff(user).filter(state__in=OPEN_THREADS)
    if team is not None:
        threads = threads.filter(team=team)
    if kind:
        threads = threads.filter(kind=kind)
    if provider is not None:
        threads = threads.filter(provider=provider)
    team_rows = list(
        threads.order_by()
        .values("team_id")
        .annotate(**ageing_aggregates(today))
        .values("team__name", *ageing_aggregates(today))
        .order_by("team__name")
    )
    team_table = Table(
        "by_team",
        "By team",
        [Column("Team"), *AGEING_COLUMNS],
        [[r["team__name"], *_ageing_values(r, today)] for r in team_rows],
        totals=["All teams", *_ageing_totals(team_rows, today)],
        empty="No disputes or queries are open.",
    )
    return Report(
        "Dispute and query ageing",
        [
            ("Team", team.name if team else "All teams"),
            ("Kind", Thread.Kind(kind).label if kind else "Disputes, queries and messages"),
            ("Provider", _provider_text(provider)),
            ("On", periods.short(today)),
        ],
        [
            team_table,
            _ageing_by_type(threads, today),
            _open_threads_table(threads, today, detail=True, with_provider=True),
        ],
        notes=AGEING_NOTES,
    )


def open_threads_by_rag(*, user: User) -> dict[str, int]:
    """Open threads by due status (the finance dashboard): one query."""
    today = clock.today()
    aggregates = ageing_aggregates(today)
    found = (
        Thread.objects.for_staff(user)
        .filter(state__in=OPEN_THREADS)
        .aggregate(**{key: aggregates[key] for key in ("open", "red", "amber", "green")})
    )
    return {key: found[key] or 0 for key in ("open", "red", "amber", "green")}


# Payments by period ------------------------------------------------------------------------------

LINE_KINDS = list(RemittanceLine.Kind.choices)


def _payments_by_month(remittances: QuerySet[Remittance], months: list[dt.date], *, providers: bool) -> Table:
    by_month = {
        row["month"]: row
        for row in remittances.order_by()
        .annotate(month=TruncMonth("paid_on"))
        .values("month")
        .annotate(n=Count("pk"), providers=Count("provider", distinct=True), total_paid=Sum("total"))
    }
    by_kind: dict[tuple[dt.date, str], Decimal] = {
        (row["month"], row["kind"]): _money(row["amount"])
        for row in RemittanceLine.objects.filter(remittance__in=remittances.values("pk"))
        .order_by()
        .annotate(month=TruncMonth("remittance__paid_on"))
        .values("month", "kind")
        .annotate(amount=Sum("amount"))
    }

    rows = []
    for month in reversed(months):
        row = by_month.get(month, {"n": 0, "providers": 0, "total_paid": None})
        values: list[Any] = [periods.month_label(month), row["n"]]
        if providers:
            values.append(row["providers"])
        values += [by_kind.get((month, kind), ZERO) for kind, _ in LINE_KINDS]
        values.append(_money(row["total_paid"]))
        rows.append(values)
    columns = [Column("Month"), Column("Remittances", "int")]
    if providers:
        columns.append(Column("Providers paid", "int"))
    columns += [Column(f"{label} £", "money") for _, label in LINE_KINDS]
    columns.append(Column("Total paid £", "money"))
    money_columns = len(LINE_KINDS) + 1
    totals: list[Any] = ["All months", sum(r[1] for r in rows)]
    if providers:
        totals.append(None)  # a provider paid in two months is one provider, not two
    totals += [sum((r[i] for r in rows), ZERO) for i in range(len(columns) - money_columns, len(columns))]
    return Table("by_month", "By month", columns, rows, totals=totals)


def payments_report(*, user: User, first: dt.date, last: dt.date, provider: Provider | None = None) -> Report:
    """What the payment runs paid, by month (paid on) and kind of line, and by provider."""
    months = periods.months_between(first, last)
    remittances = Remittance.objects.filter(
        paid_on__gte=months[0], paid_on__lte=periods.month_end(months[-1])
    )
    if not user.is_council_staff:
        remittances = remittances.none()
    if provider is not None:
        remittances = remittances.filter(provider=provider)
    provider_rows = [
        [row["provider__name"], row["provider__ref"], row["n"], _money(row["total_paid"])]
        for row in remittances.order_by()
        .values("provider_id")
        .annotate(n=Count("pk"), total_paid=Sum("total"))
        .values("provider__name", "provider__ref", "n", "total_paid")
        .order_by("-total_paid", "provider__name")
    ]
    return Report(
        "Payments by period",
        [
            ("Months", _months_text(months)),
            ("Provider", _provider_text(provider)),
        ],
        [
            _payments_by_month(remittances, months, providers=True),
            Table(
                "by_provider",
                "By provider",
                [
                    Column("Provider"),
                    Column("Reference"),
                    Column("Remittances", "int"),
                    Column("Total paid £", "money"),
                ],
                provider_rows,
                totals=[
                    "All providers",
                    None,
                    sum(r[2] for r in provider_rows),
                    sum((r[3] for r in provider_rows), ZERO),
                ],
                paged=True,
            ),
        ],
        notes=[
            "Remittances by the day the payment run paid them; the kinds of line are what each remittance's "
            "lines were for (payment adjustments settle disputes and can be negative)."
        ],
    )


def _months_text(months: list[dt.date]) -> str:
    if len(months) == 1:
        return periods.month_label(months[0])
    return f"{periods.month_label(months[0])} to {periods.month_label(months[-1])}"


# Provider reports --------------------------------------------------------------------------------

GROUPINGS = {
    "week": ("Week and service type", ["week__week_start"]),
    "person": (
        "Person and service type",
        ["care_package_line__service_user__name", "care_package_line__service_user__ref"],
    ),
    "service_type": ("Service type", []),
}
PROVIDER_UNIT_COLUMNS = [
    Column("Lines", "int"),
    Column("Planned", "quantity"),
    Column("Delivered", "quantity"),
    Column("Frustrated", "quantity"),
    Column("Missed", "quantity"),
    Column("Extra", "quantity"),
    Column("Variance", "quantity"),
]


def actuals_against_plan_report(
    *,
    provider: Provider,
    first: dt.date,
    last: dt.date,
    group: str = "week",
    service_type: ServiceType | None = None,
    person: str = "",
    include_drafts: bool = True,
) -> Report:
    """The provider's actuals against plan, by week, person or service type (always with the service type:
    units of different service types do not add up)."""
    lines = variance_lines(
        ActualLine.objects.for_provider(provider),
        first=first,
        last=last,
        service_type=service_type,
        include_drafts=include_drafts,
    )
    if person.strip():
        text = person.strip()
        lines = lines.filter(
            Q(care_package_line__service_user__name__icontains=text)
            | Q(care_package_line__service_user__ref__iexact=text)
        )
    title, keys = GROUPINGS[group]
    type_keys = [f"{SERVICE_TYPE}__name", f"{SERVICE_TYPE}__unit"]
    order = ["-week__week_start"] if group == "week" else keys
    rows = [
        (row, VarianceFigures.of(row))
        for row in lines.order_by()
        .values(*keys, f"{SERVICE_TYPE}_id")
        .annotate(**variance_aggregates())
        .values(*keys, *type_keys, *variance_aggregates())
        .order_by(*order, f"{SERVICE_TYPE}__name")
    ]
    key_columns = {
        "week": [Column("Week", "date")],
        "person": [Column("Person"), Column("Client reference")],
        "service_type": [],
    }[group]

    def units(f: VarianceFigures) -> list[Any]:
        return [f.lines, f.planned, f.delivered, f.frustrated, f.missed, f.extra, f.variance]

    table = Table(
        "by_group",
        f"By {title.lower()}",
        [*key_columns, Column("Service type"), Column("Unit"), *PROVIDER_UNIT_COLUMNS, *AMOUNT_COLUMNS],
        [
            [
                *(row[key] for key in keys),
                row[f"{SERVICE_TYPE}__name"],
                UNIT_LABELS.get(row[f"{SERVICE_TYPE}__unit"], ""),
                *units(figures),
                *figures.amounts(),
            ]
            for row, figures in rows
        ],
        totals=[
            "All",
            *([None] * (len(key_columns) + 1)),
            sum(f.lines for _, f in rows),
            *([None] * 6),
            *_money_totals(f for _, f in rows),
        ],
        paged=True,
    )
    return Report(
        "Actuals against plan",
        [
            ("Weeks", _weeks_text(first, last)),
            ("By", title),
            ("Service type", service_type.name if service_type else "All service types"),
            ("Person", person.strip() or "Everyone"),
            ("Lines", "Confirmed and drafts" if include_drafts else "Confirmed only"),
        ],
        [table],
        notes=VARIANCE_NOTES,
    )


def weeks_outstanding_report(*, provider: Provider) -> Report:
    """The provider's weeks not yet confirmed (the week due and the earlier ones still open), with what is
    left to do in each, and the lines the back office rejected, which need correcting."""
    closed = calendar.closure_days()
    due = calendar.week_due(closed=closed)
    before = due + dt.timedelta(days=7)
    open_weeks = open_earlier_weeks(provider=provider, before=before, closed=closed)
    # Confirmed weeks with supplementary lines (published after the week was confirmed) still to confirm.
    supplementary = set(
        ProviderWeek.objects.for_provider(provider)
        .filter(state__in=WEEK_CONFIRMED, week_start__lt=before, lines__status=Status.DRAFT)
        .order_by()
        .values_list("week_start", flat=True)
        .distinct()
    )
    summaries = week_summaries(
        provider=provider,
        week_starts=sorted({w.week_start for w in open_weeks} | supplementary),
        closed=closed,
    )
    drafts = Counter(
        dict(
            ActualLine.objects.for_provider(provider)
            .filter(week__week_start__in=[s.week_start for s in summaries], status=Status.DRAFT)
            .order_by()
            .values_list("week__week_start")
            .annotate(n=Count("pk"))
            .values_list("week__week_start", "n")
        )
        if summaries
        else {}
    )
    weeks = Table(
        "weeks",
        "Weeks still to confirm",
        [
            Column("Week", "date"),
            Column("State"),
            Column("Deadline", "datetime"),
            Column("Lines", "int"),
            Column("Still to confirm", "int"),
            Column("Must be fixed", "int"),
            Column("Need a reason", "int"),
        ],
        [
            [
                s.week_start,
                "Supplementary lines to confirm" if s.confirmed else s.state_label,
                s.deadline,
                s.lines,
                drafts[s.week_start],
                s.blocking,
                s.unacknowledged,
            ]
            for s in sorted(summaries, key=lambda s: s.week_start, reverse=True)
        ],
        empty="Every week is confirmed.",
    )
    rejected = Table(
        "rejected",
        "Lines the back office rejected",
        [Column("Week", "date"), Column("Lines", "int"), Column("Amount £", "money")],
        [
            [row["week__week_start"], row["n"], _money(row["total"])]
            for row in ActualLine.objects.for_provider(provider)
            .filter(status=Status.REJECTED)
            .order_by()
            .values("week__week_start")
            .annotate(n=Count("pk"), total=Sum("amount"))
            .order_by("-week__week_start")
        ],
        empty="No lines are waiting to be corrected.",
    )
    return Report(
        "Weeks outstanding",
        [("Provider", _provider_text(provider)), ("Week due", calendar.week_label(due))],
        [weeks, rejected],
        notes=[
            "Weeks with something to confirm (actual lines, or care package lines paid through actuals) "
            "that are not confirmed yet, back to eight weeks before the week due, and confirmed weeks with "
            "supplementary lines (care the council added after the week was confirmed) to confirm.",
            "A rejected line is corrected from its week's page, with a reason.",
        ],
    )


def provider_payments_report(*, provider: Provider, first: dt.date, last: dt.date) -> Report:
    """The provider's remittances by month and kind of line, and each remittance."""
    months = periods.months_between(first, last)
    remittances = Remittance.objects.for_provider(provider).filter(
        paid_on__gte=months[0], paid_on__lte=periods.month_end(months[-1])
    )
    listing = [
        [r["ref"], r["paid_on"], r["payment_run_ref"], r["n"], _money(r["total"])]
        for r in remittances.order_by()
        .values("pk")
        .annotate(n=Count("lines"))
        .values("ref", "paid_on", "payment_run_ref", "n", "total")
        .order_by("-paid_on", "ref")
    ]
    return Report(
        "Payments and remittances",
        [("Months", _months_text(months)), ("Provider", _provider_text(provider))],
        [
            _payments_by_month(remittances, months, providers=False),
            Table(
                "remittances",
                "Remittances",
                [
                    Column("Remittance"),
                    Column("Paid on", "date"),
                    Column("Payment run"),
                    Column("Lines", "int"),
                    Column("Total £", "money"),
                ],
                listing,
                totals=[
                    "All remittances",
                    None,
                    None,
                    sum(r[3] for r in listing),
                    sum((r[4] for r in listing), ZERO),
                ],
                empty="No remittances in these months.",
                paged=True,
            ),
        ],
        notes=["Remittances by the day the payment run paid them."],
    )


def provider_threads_report(*, provider: Provider, kind: str = "") -> Report:
    """The provider's open disputes and queries against their due dates, and the rest by outcome."""
    today = clock.today()
    threads = Thread.objects.for_provider(provider)
    if kind:
        threads = threads.filter(kind=kind)
    open_threads = threads.filter(state__in=OPEN_THREADS)
    decided = list(
        threads.exclude(state__in=OPEN_THREADS)
        .order_by()
        .values("kind", "query_type", "outcome")
        .annotate(n=Count("pk"), last=Max("resolved_at"))
    )
    outcome_labels = dict(Thread.Outcome.choices)
    decided.sort(key=lambda r: (_thread_type(r["kind"], r["query_type"]), r["outcome"]))
    return Report(
        "Disputes and queries",
        [
            ("Provider", _provider_text(provider)),
            ("Kind", Thread.Kind(kind).label if kind else "Disputes, queries and messages"),
            ("On", periods.short(today)),
        ],
        [
            _ageing_by_type(open_threads, today),
            _open_threads_table(open_threads, today, detail=False, with_provider=False),
            Table(
                "resolved",
                "Resolved and closed",
                [Column("Type"), Column("Outcome"), Column("Threads", "int"), Column("Latest", "datetime")],
                [
                    [
                        _thread_type(r["kind"], r["query_type"]),
                        outcome_labels.get(r["outcome"], ""),
                        r["n"],
                        r["last"],
                    ]
                    for r in decided
                ],
                empty="None resolved yet.",
            ),
        ],
        notes=AGEING_NOTES,
    )


# Dashboards' small figures -----------------------------------------------------------------------


def held_lines_count(*, user: User) -> int:
    return ActualLine.objects.for_staff(user).filter(status=Status.HELD).count()


def provider_paid_by_month(*, provider: Provider, months: int = 6) -> list[tuple[dt.date, Decimal]]:
    """What the provider was paid in each of the last `months` months (remittances by paid on), oldest
    first, months with nothing paid included: one query."""
    last = periods.month_start(clock.today())
    first = periods.add_months(last, -(months - 1))
    found = {
        row["month"]: _money(row["paid"])
        for row in Remittance.objects.for_provider(provider)
        .filter(paid_on__gte=first)
        .order_by()
        .annotate(month=TruncMonth("paid_on"))
        .values("month")
        .annotate(paid=Sum("total"))
    }
    return [(month, found.get(month, ZERO)) for month in periods.months_between(first, last)]
