"""The exception rules: what an actual line must not do, each with an ID, its text and a severity.

**Blocking** rules must be fixed before the week is confirmed. **Acknowledge** rules need the provider's
reason; the line is then held for a finance officer's review when the week is confirmed. Each rule is one
function: its docstring's first paragraph is the rule's text, the rest its explanation (the list in
docs/exception-rules.md is generated from them: `manage.py actuals_rules_doc`), and it returns the message
for the line, or None.

Rules read only what `LineFacts` holds, so a week of 2,000 lines is checked in memory, with no queries.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from actuals.calendar import week_end
from portal.money import on_step
from portal.providers.models import CarePackageLine, ServiceType, ServiceUser

BLOCKING = "blocking"
ACKNOWLEDGE = "acknowledge"


@dataclass(frozen=True)
class LineFacts:
    """What the rules see of one actual line."""

    week_start: dt.date
    planned: Decimal
    delivered: Decimal
    frustrated: Decimal
    missed: Decimal
    extra: Decimal
    adjustment_form_ref: str
    comment: str
    no_service: bool
    service_type: ServiceType
    care_package_line: CarePackageLine
    person: ServiceUser
    duplicate_of: str = ""  # the reference of another line of the week this one duplicates

    @property
    def week_end(self) -> dt.date:
        return week_end(self.week_start)

    @property
    def differs_from_plan(self) -> bool:
        return bool(self.delivered != self.planned or self.frustrated or self.missed or self.extra)

    @property
    def has_reference(self) -> bool:
        return bool(self.adjustment_form_ref.strip())

    @property
    def suspended(self) -> bool:
        return self.care_package_line.status == CarePackageLine.Status.SUSPENDED

    @property
    def nothing_recorded(self) -> bool:
        return not (self.delivered or self.frustrated or self.missed or self.extra)

    @property
    def unit(self) -> str:
        return self.service_type.get_unit_display()

    @property
    def over_tolerance(self) -> bool:
        """Delivered and extra together beyond the plan and the service type's tolerance."""
        allowed = self.planned * (1 + self.service_type.tolerance_percent / 100)
        return self.delivered + self.extra > allowed


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    check: Callable[[LineFacts], str | None] = field(compare=False)

    @property
    def text(self) -> str:
        """The docstring's first paragraph (it may wrap over several lines)."""
        return self._paragraphs()[0]

    @property
    def explanation(self) -> str:
        return " ".join(self._paragraphs()[1:])

    def _paragraphs(self) -> list[str]:
        paragraphs = inspect.cleandoc(self.check.__doc__ or "").split("\n\n")
        return [" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in paragraphs]


RULES: list[Rule] = []


def rule(rule_id: str, severity: str) -> Callable[[Callable[[LineFacts], str | None]], Callable]:
    def register(check: Callable[[LineFacts], str | None]) -> Callable[[LineFacts], str | None]:
        assert rule_id not in {r.id for r in RULES}, f"rule {rule_id} defined twice"
        RULES.append(Rule(rule_id, severity, check))
        return check

    return register


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str


def evaluate(facts: LineFacts) -> list[Finding]:
    """Every rule the line breaks, blocking first."""
    findings = []
    for each in RULES:
        message = each.check(facts)
        if message:
            findings.append(Finding(each.id, each.severity, message[:400]))
    return sorted(findings, key=lambda f: (f.severity != BLOCKING, f.rule))


def rule_by_id(rule_id: str) -> Rule:
    return next(r for r in RULES if r.id == rule_id)


def _q(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%B %Y}"


def records_absence_as_frustrated(service_type: ServiceType) -> bool:
    """Day care and other session-based services paid on plan record a session the person did not attend
    as frustrated: the place was kept and is paid, so "missed" (the provider failed) does not apply."""
    return service_type.paid_on == ServiceType.PaidOn.PLAN and service_type.unit == ServiceType.Unit.SESSIONS


# Blocking ----------------------------------------------------------------------------------------


@rule("ACT-01", BLOCKING)
def quantity_off_step(f: LineFacts) -> str | None:
    """Quantities must be whole steps of the service type's unit.

    Home support is recorded in quarter hours (0.25); sessions, nights, trips and meals in whole units."""
    wrong = [
        (label, value)
        for label, value in (
            ("delivered", f.delivered),
            ("frustrated", f.frustrated),
            ("missed", f.missed),
            ("extra", f.extra),
        )
        if not on_step(value, f.service_type.step)
    ]
    if not wrong:
        return None
    label, value = wrong[0]
    return (
        f"{label.capitalize()} must be in steps of {_q(f.service_type.step)} {f.unit}: "
        f"{_q(value)} is not. Round it to the nearest step."
    )


@rule("ACT-02", BLOCKING)
def extras_not_allowed(f: LineFacts) -> str | None:
    """Extras where the service type does not allow them (supported living, fostering)."""
    if f.extra and not f.service_type.allows_extras:
        return f"{f.service_type.name} does not allow extras: remove the {_q(f.extra)} extra {f.unit}."
    return None


@rule("ACT-03", BLOCKING)
def extras_without_reference(f: LineFacts) -> str | None:
    """Extras without an adjustment form reference.

    Extra care is paid only once a request for adjustment has been accepted; the line carries its reference."""
    if f.extra and f.service_type.allows_extras and not f.has_reference:
        return (
            "Extras need the reference of the accepted request for adjustment: "
            "add the adjustment form reference, or remove the extras."
        )
    return None


@rule("ACT-04", BLOCKING)
def variance_without_comment(f: LineFacts) -> str | None:
    """A line that differs from plan without a comment saying why.

    A suspended line with nothing recorded on it (as it is generated) needs none: the suspension says why."""
    if f.differs_from_plan and not f.comment.strip() and not (f.suspended and f.nothing_recorded):
        return "The line differs from plan: add a comment saying why."
    return None


@rule("ACT-05", BLOCKING)
def service_outside_line_dates(f: LineFacts) -> str | None:
    """Service outside the care package line's dates (after it ended, or before it started)."""
    given = f.delivered + f.extra
    if not given:
        return None
    line = f.care_package_line
    if line.end_date is not None and line.end_date < f.week_start:
        return (
            f"The care package line ended on {_day(line.end_date)}, before this week: nothing can be "
            "delivered on it. Set delivered to 0, or tell brokerage the end date is wrong."
        )
    if line.start_date > f.week_end:
        return f"The care package line starts on {_day(line.start_date)}, after this week: nothing can be delivered on it yet."
    return None


@rule("ACT-06", BLOCKING)
def service_after_death(f: LineFacts) -> str | None:
    """Service after the date of death of the person (when they died before the week began)."""
    died = f.person.deceased_on
    if died is not None and died < f.week_start and f.delivered + f.extra:
        return (
            f"{f.person.name} died on {_day(died)}, before this week: nothing can be delivered. "
            "Set delivered to 0, or tell brokerage the date of death is wrong."
        )
    return None


@rule("ACT-07", BLOCKING)
def nothing_delivered_unexplained(f: LineFacts) -> str | None:
    """Nothing delivered, with no frustrated or missed quantity to explain it.

    A nil return explains itself, and so does a suspended line (generated with nothing delivered); a line
    with only extras recorded was delivered (the extras have rules of their own)."""
    explained = f.frustrated or f.missed or f.extra or f.no_service or f.suspended
    if f.planned and not f.delivered and not explained:
        return "Nothing was delivered: record the frustrated or missed quantity that explains why."
    return None


@rule("ACT-08", BLOCKING)
def duplicate_line(f: LineFacts) -> str | None:
    """A duplicate: the person has another line of the same service, plan and rate in the week, and both
    claim delivery.

    A package entered twice in the back office is paid once: record what was delivered on one line, the
    other as missed, and tell brokerage."""
    if f.duplicate_of:
        return (
            f"This looks like a duplicate of line {f.duplicate_of} (same person, service, plan and rate). "
            "Record the service on one of them only."
        )
    return None


@rule("ACT-09", BLOCKING)
def over_plan_without_reference(f: LineFacts) -> str | None:
    """Delivered beyond the plan and the service type's tolerance, with no adjustment form reference."""
    paid_on_actuals = f.service_type.paid_on == ServiceType.PaidOn.ACTUALS
    if paid_on_actuals and not f.extra and f.over_tolerance and not f.has_reference:
        return (
            f"{_q(f.delivered)} {f.unit} delivered is more than the plan of {_q(f.planned)} allows "
            f"({_q(f.service_type.tolerance_percent)}% tolerance): record the difference as extra, "
            "with its adjustment form reference."
        )
    return None


@rule("ACT-10", BLOCKING)
def missed_session_on_plan(f: LineFacts) -> str | None:
    """Missed sessions on a service paid on plan by the session (day care): record them as frustrated."""
    if f.missed and records_absence_as_frustrated(f.service_type):
        return (
            f"{f.service_type.name} records sessions the person did not attend as frustrated, not "
            "missed: move them to frustrated."
        )
    return None


@rule("ACT-15", BLOCKING)
def more_accounted_for_than_planned(f: LineFacts) -> str | None:
    """Delivered, frustrated and missed together beyond the plan and its tolerance.

    Frustrated and missed are the parts of the plan that did not happen: with delivery on top they cannot
    add up to more than the plan (service beyond it is extra, with its adjustment form reference)."""
    accounted = f.delivered + f.frustrated + f.missed
    allowed = f.planned * (1 + f.service_type.tolerance_percent / 100)
    if (f.frustrated or f.missed) and accounted > allowed:
        return (
            f"Delivered, frustrated and missed add up to {_q(accounted)} {f.unit}, more than the plan of "
            f"{_q(f.planned)}: frustrated and missed are the part of the plan that was not delivered."
        )
    return None


# Acknowledge -------------------------------------------------------------------------------------


@rule("ACT-11", ACKNOWLEDGE)
def over_plan_with_reference(f: LineFacts) -> str | None:
    """Over plan beyond the service type's tolerance, with an adjustment form reference."""
    if f.over_tolerance and f.has_reference:
        return (
            f"{_q(f.delivered + f.extra)} {f.unit} is over the plan of {_q(f.planned)} beyond the "
            f"{_q(f.service_type.tolerance_percent)}% tolerance (adjustment {f.adjustment_form_ref.strip()})."
        )
    return None


@rule("ACT-12", ACKNOWLEDGE)
def service_on_suspended_line(f: LineFacts) -> str | None:
    """Service on a suspended care package line."""
    if f.care_package_line.status == CarePackageLine.Status.SUSPENDED and f.delivered + f.extra:
        return "The care package line is suspended, but service is recorded on it."
    return None


@rule("ACT-13", ACKNOWLEDGE)
def frustrated_or_missed_above_half(f: LineFacts) -> str | None:
    """Frustrated or missed above half the plan."""
    if f.planned and f.frustrated + f.missed > f.planned / 2:
        return (
            f"{_q(f.frustrated + f.missed)} {f.unit} frustrated or missed is more than half the plan "
            f"of {_q(f.planned)}."
        )
    return None


@rule("ACT-14", ACKNOWLEDGE)
def died_during_the_week(f: LineFacts) -> str | None:
    """The person was reported deceased during the week."""
    died = f.person.deceased_on
    if died is not None and f.week_start <= died <= f.week_end:
        return f"{f.person.name} died on {_day(died)}, during this week. Check the service recorded after that day."
    return None


@rule("ACT-16", ACKNOWLEDGE)
def service_after_a_reported_death(f: LineFacts) -> str | None:
    """Service recorded after a death a provider reported (or the council confirmed), which the back office
    has not recorded yet.

    A provider's report (a "service ended or person died" query) flags that provider's lines of the person
    from that week on; another provider's lines wait until the council confirms the report from the query,
    when every provider's are flagged (a report cleared as made in error flags nobody's). Once the back
    office records the death, ACT-06 and ACT-14 judge the lines instead."""
    reported = f.person.death_reported_on
    confirmed = f.person.death_confirmed_at is not None
    by_this_provider = f.person.death_reported_by_id == f.care_package_line.provider_id
    if (
        f.person.deceased_on is None
        and reported is not None
        and (confirmed or by_this_provider)
        and reported <= f.week_end
        and f.delivered + f.extra
    ):
        if confirmed:
            return (
                f"The council has confirmed that {f.person.name} died on {_day(reported)}. Check the "
                "service recorded after that day."
            )
        return (
            f"A provider reported that {f.person.name} died on {_day(reported)} (the council has not confirmed "
            "it yet). Check the service recorded after that day."
        )
    return None


# Across the week ---------------------------------------------------------------------------------


def duplicates_in(facts: Iterable[tuple[int, LineFacts]]) -> dict[int, str]:
    """Lines of one week that duplicate another (same person, service type, plan and rate, both with
    something delivered): each maps to the reference of the other."""
    groups: dict[tuple, list[tuple[int, LineFacts]]] = {}
    for key, f in facts:
        if f.delivered + f.extra:
            line = f.care_package_line
            signature = (line.service_user_id, line.service_type_id, line.planned_per_week, line.rate)
            groups.setdefault(signature, []).append((key, f))
    found: dict[int, str] = {}
    for group in groups.values():
        if len(group) > 1:
            for key, _facts in group:
                other = next(g for k, g in group if k != key)
                found[key] = other.care_package_line.ref
    return found
