"""Shared pieces of the actuals tests: a week in the past with the clock on the Monday after it, the
service types the rules treat differently, unsaved `LineFacts` for the rule modules, and short helpers
that call the services the way a page would."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

import pytest
import time_machine

from actuals import services
from actuals.models import ActualLine, ProviderWeek
from actuals.rules import LineFacts
from portal.accounts.models import User
from portal.clock import LONDON
from portal.providers.models import CarePackageLine, Provider, ServiceType, ServiceUser
from tests.factories import CarePackageLineFactory, ServiceTypeFactory, ServiceUserFactory

D = Decimal

WEEK = dt.date(2026, 11, 2)  # a Monday in GMT; its deadline is Tuesday 10 November 2026, 17:00
# The Monday after WEEK, mid-morning: the week has ended and its deadline has not passed.
MONDAY_AFTER = dt.datetime(2026, 11, 9, 10, 0, tzinfo=LONDON)
DEADLINE = dt.datetime(2026, 11, 10, 17, 0, tzinfo=LONDON)


@pytest.fixture
def week() -> Iterator[dt.date]:
    """WEEK, with the clock stopped on the Monday after it (the week is due and not yet late)."""
    with time_machine.travel(MONDAY_AFTER, tick=False):
        yield WEEK


# Service types -----------------------------------------------------------------------------------

HOME_SUPPORT: dict[str, Any] = {
    "code": "HOME_SUPPORT",
    "name": "Home support",
    "unit": ServiceType.Unit.HOURS,
    "step": D("0.25"),
    "allows_extras": True,
    "paid_on": ServiceType.PaidOn.ACTUALS,
    "tolerance_percent": D("10"),
}
DAY_CARE: dict[str, Any] = {
    "code": "DAY_CARE",
    "name": "Day care",
    "unit": ServiceType.Unit.SESSIONS,
    "step": D("1"),
    "allows_extras": True,
    "paid_on": ServiceType.PaidOn.PLAN,
    "tolerance_percent": D("0"),
}
SUPPORTED_LIVING: dict[str, Any] = {
    "code": "SUPPORTED_LIVING",
    "name": "Supported living",
    "unit": ServiceType.Unit.HOURS,
    "step": D("0.25"),
    "allows_extras": False,
    "paid_on": ServiceType.PaidOn.PLAN,
    "tolerance_percent": D("0"),
}
AGENCY: dict[str, Any] = {
    "code": "AGENCY",
    "name": "Agency placement",
    "unit": ServiceType.Unit.WEEKS,
    "step": D("1"),
    "allows_extras": False,
    "paid_on": ServiceType.PaidOn.INVOICE,
    "tolerance_percent": D("0"),
}


def service_type(kind: dict[str, Any], **overrides: Any) -> ServiceType:
    """A saved service type of that kind (get-or-create on its code)."""
    return cast(ServiceType, ServiceTypeFactory(**{**kind, **overrides}))


# Facts for the rules, with no database -------------------------------------------------------------


def facts(
    *,
    kind: dict[str, Any] = HOME_SUPPORT,
    planned: str = "10.50",
    delivered: str | None = None,
    frustrated: str = "0",
    missed: str = "0",
    extra: str = "0",
    adjustment_form_ref: str = "",
    comment: str = "",
    no_service: bool = False,
    duplicate_of: str = "",
    week_start: dt.date = WEEK,
    deceased_on: dt.date | None = None,
    service_type_fields: dict[str, Any] | None = None,
    **line_fields: Any,
) -> LineFacts:
    """One line's facts built from unsaved instances. Delivered defaults to the plan (a line as
    generated); `line_fields` go to the care package line (start_date, end_date, status, ...)."""
    st = ServiceTypeFactory.build(**{**kind, **(service_type_fields or {})})
    person = ServiceUserFactory.build(name="Alice Ashworth", deceased_on=deceased_on)
    line = CarePackageLineFactory.build(
        service_type=st, service_user=person, planned_per_week=D(planned), **line_fields
    )
    return LineFacts(
        week_start=week_start,
        planned=D(planned),
        delivered=D(planned if delivered is None else delivered),
        frustrated=D(frustrated),
        missed=D(missed),
        extra=D(extra),
        adjustment_form_ref=adjustment_form_ref,
        comment=comment,
        no_service=no_service,
        service_type=st,
        care_package_line=line,
        person=person,
        duplicate_of=duplicate_of,
    )


def rule_ids(f: LineFacts) -> set[str]:
    from actuals.rules import evaluate

    return {finding.rule for finding in evaluate(f)}


# Calling the services ------------------------------------------------------------------------------


def generate(provider: Provider, week_start: dt.date = WEEK, by: User | None = None) -> ProviderWeek:
    return services.actuals_generate(provider=provider, week_start=week_start, by=by).week


def actual_of(cpl: CarePackageLine, week_start: dt.date = WEEK) -> ActualLine:
    """The stored actual line of `cpl` in the week, read afresh."""
    return ActualLine.objects.with_related().get(care_package_line=cpl, week__week_start=week_start)


def amend(line: ActualLine, by: User, **changes: Any) -> ActualLine:
    """Amend `line` as a form would: its current values with `changes`, from its current revision."""
    values = dataclasses.replace(
        services.LineValues.of(line),
        **{name: D(value) if name in QUANTITIES else value for name, value in changes.items()},
    )
    return services.actual_amend(
        provider=line.provider, line_id=line.pk, by=by, values=values, revision=line.revision
    )


def acknowledge_all(line: ActualLine, by: User, reason: str = "Agreed with the care manager.") -> None:
    for exception in line.exceptions.filter(severity="acknowledge"):
        services.exception_acknowledge(
            provider=line.provider, line_id=line.pk, rule=exception.rule, by=by, reason=reason
        )


def confirm(provider: Provider, by: User, week_start: dt.date = WEEK) -> services.ConfirmResult:
    return services.week_confirm(provider=provider, week_start=week_start, by=by, declaration=True)


def exception_rules(line: ActualLine) -> set[str]:
    return set(line.exceptions.values_list("rule", flat=True))


def person(**fields: Any) -> ServiceUser:
    return cast(ServiceUser, ServiceUserFactory(**fields))


QUANTITIES = {"delivered", "frustrated", "missed", "extra"}
