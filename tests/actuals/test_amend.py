"""Amending a draft line: the amount follows DOMAIN.md's "what is paid", the exceptions follow the line,
two people editing one line lose nothing, and only the provider's own draft lines can be changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from actuals.models import ActualLine
from actuals.services import (
    ActualsError,
    LineValues,
    StaleEdit,
    actual_amend,
    exception_acknowledge,
    line_amount,
    paid_quantity,
)
from portal.audit.models import AuditEvent
from tests.actuals.conftest import (
    DAY_CARE,
    HOME_SUPPORT,
    SUPPORTED_LIVING,
    actual_of,
    amend,
    confirm,
    exception_rules,
    generate,
    service_type,
)
from tests.conftest import Council
from tests.factories import CarePackageLineFactory, ServiceTypeFactory, UserFactory

D = Decimal


# What is paid, without a database --------------------------------------------------------------------


def paid(
    kind: dict,
    *,
    planned: str = "10",
    delivered: str = "10",
    frustrated: str = "0",
    extra: str = "0",
    ref: str = "",
) -> Decimal:
    return paid_quantity(
        service_type=ServiceTypeFactory.build(**kind),
        planned=D(planned),
        delivered=D(delivered),
        frustrated=D(frustrated),
        extra=D(extra),
        adjustment_form_ref=ref,
    )


def test_actuals_pay_delivered_frustrated_and_referenced_extra() -> None:
    assert paid(HOME_SUPPORT, delivered="8", frustrated="1.5", extra="2", ref="ADJ-1") == D("11.5")
    assert paid(HOME_SUPPORT, delivered="8", frustrated="1.5", extra="2", ref="  ") == D("9.5")
    assert paid(HOME_SUPPORT, planned="10", delivered="4") == D("4")  # not the plan


def test_plan_pays_the_plan_and_referenced_extra_whatever_was_delivered() -> None:
    assert paid(DAY_CARE, planned="3", delivered="1", frustrated="2") == D("3")
    assert paid(DAY_CARE, planned="3", delivered="3", extra="1", ref="ADJ-2") == D("4")
    assert paid(DAY_CARE, planned="3", delivered="3", extra="1") == D("3")


def test_extras_a_service_forbids_are_never_paid() -> None:
    assert paid(SUPPORTED_LIVING, planned="40", delivered="40", extra="5", ref="ADJ-3") == D("40")


def built_line(kind: dict, rate: str, **quantities: str) -> ActualLine:
    cpl = CarePackageLineFactory.build(service_type=ServiceTypeFactory.build(**kind), rate=D(rate))
    values = {
        "planned": "10",
        "delivered": "10",
        "frustrated": "0",
        "missed": "0",
        "extra": "0",
        **quantities,
    }
    return ActualLine(care_package_line=cpl, rate=D(rate), **{k: D(v) for k, v in values.items()})


def test_missed_is_never_paid() -> None:
    line = built_line(HOME_SUPPORT, "20.00", delivered="9", missed="1")
    assert line_amount(line) == D("180.00")


def test_the_amount_is_rounded_half_up_to_the_penny() -> None:
    assert line_amount(built_line(HOME_SUPPORT, "21.30", delivered="0.25")) == D("5.33")  # 5.325, not 5.32


def test_the_amount_is_rounded_once_for_the_line_not_per_part() -> None:
    # 7.75 h × 21.30 = 165.075 → 165.08; rounding 7.25 h, 0.25 h and 0.25 h apart would give 165.09.
    line = built_line(HOME_SUPPORT, "21.30", delivered="7.25", frustrated="0.25", extra="0.25")
    line.adjustment_form_ref = "ADJ-1"
    assert line_amount(line) == D("165.08")


# Amending -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_amendment_recomputes_the_amount_and_is_recorded(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    generate(council.provider_a)
    line = actual_of(council.line_a)

    saved = amend(
        line, user, delivered="8", frustrated="1.50", missed="1", extra="2",
        adjustment_form_ref="  ADJ-77 ", comment="  Hospital on Tuesday; extra visit agreed  ",
    )  # fmt: skip

    assert saved.amount == D("269.10")  # (8 + 1.5 + 2) × 23.40; missed unpaid
    stored = actual_of(council.line_a)
    assert (stored.delivered, stored.frustrated, stored.missed, stored.extra) == (D(8), D("1.5"), D(1), D(2))
    assert (stored.adjustment_form_ref, stored.comment) == (
        "ADJ-77",
        "Hospital on Tuesday; extra visit agreed",
    )
    assert stored.amount == D("269.10")
    assert (stored.amended, stored.amended_by, stored.revision) == (True, user, 2)
    event = AuditEvent.objects.get(action="actuals.line.amended")
    assert (event.actor, event.provider, event.object_id) == (user, council.provider_a, str(line.pk))
    assert event.data["before"]["delivered"] == "10.50" and event.data["after"]["delivered"] == "8"


@pytest.mark.django_db
def test_extras_without_a_reference_are_not_paid(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    saved = amend(actual_of(council.line_a), council.users["provider_a"], extra="2", comment="Extra visit")
    assert saved.amount == D("245.70")
    assert "ACT-03" in exception_rules(saved)


@pytest.mark.django_db
def test_a_plan_paid_line_pays_the_plan_whatever_is_recorded(council: Council, week: dt.date) -> None:
    cpl = CarePackageLineFactory(
        provider=council.provider_a,
        service_type=service_type(DAY_CARE),
        planned_per_week=D("3"),
        rate=D("55.00"),
    )
    generate(council.provider_a)
    user = council.users["provider_a"]
    saved = amend(actual_of(cpl), user, delivered="1", frustrated="2", comment="Unwell Wednesday and Friday")
    assert saved.amount == D("165.00")
    saved = amend(saved, user, extra="1", adjustment_form_ref="ADJ-5", comment="Extra session agreed")
    assert saved.amount == D("220.00")


@pytest.mark.django_db
def test_unchanged_values_write_nothing(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    line = actual_of(council.line_a)
    amend(line, council.users["provider_a"])
    stored = actual_of(council.line_a)
    assert (stored.revision, stored.amended) == (1, False)
    assert not AuditEvent.objects.filter(action="actuals.line.amended").exists()


@pytest.mark.django_db
def test_an_amendment_takes_the_plan_as_it_is_now(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    cpl = council.line_a
    cpl.rate, cpl.version = D("25.00"), 2
    cpl.save()
    saved = amend(actual_of(cpl), council.users["provider_a"], delivered="10", comment="Short visit")
    assert (saved.rate, saved.amount, saved.care_package_line_version) == (D("25.00"), D("250.00"), 2)
    assert not actual_of(cpl).care_package_line_changed


# Exceptions follow the line -----------------------------------------------------------------------


@pytest.mark.django_db
def test_fixing_a_blocking_exception_removes_it(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    user = council.users["provider_a"]
    line = amend(actual_of(council.line_a), user, delivered="9.10")
    assert exception_rules(line) == {"ACT-01", "ACT-04"}
    line = amend(line, user, delivered="9", comment="One visit cut short")
    assert exception_rules(line) == set()


@pytest.mark.django_db
def test_an_acknowledgement_lasts_while_its_message_does(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    user = council.users["provider_a"]
    line = amend(actual_of(council.line_a), user, delivered="4.50", frustrated="6", comment="In hospital")
    exception_acknowledge(
        provider=council.provider_a, line_id=line.pk, rule="ACT-13", by=user, reason="Admitted on Wednesday"
    )
    line = amend(line, user, comment="In hospital from Wednesday")  # the exception is the same
    assert line.exceptions.get(rule="ACT-13").reason == "Admitted on Wednesday"
    line = amend(line, user, delivered="3.50", frustrated="7")  # the exception says something new
    exception = line.exceptions.get(rule="ACT-13")
    assert (exception.is_acknowledged, exception.reason) == (False, "")


@pytest.mark.django_db
def test_a_duplicate_is_cleared_on_both_lines(council: Council, week: dt.date) -> None:
    twin = CarePackageLineFactory(provider=council.provider_a, service_user=council.line_a.service_user)
    generate(council.provider_a)
    assert exception_rules(actual_of(twin)) == {"ACT-08"}
    amend(
        actual_of(twin), council.users["provider_a"], delivered="0", missed="10.50", comment="Entered twice"
    )
    assert "ACT-08" not in exception_rules(actual_of(twin))
    assert exception_rules(actual_of(council.line_a)) == set()


# Two people, confirmed lines, other providers ------------------------------------------------------------


@pytest.mark.django_db
def test_the_second_of_two_editors_is_told_and_nothing_of_theirs_is_written(
    council: Council, week: dt.date
) -> None:
    first = UserFactory(full_name="Farah Khan")
    second = council.users["provider_a"]
    generate(council.provider_a)
    opened_by_both = actual_of(council.line_a)  # both forms start from revision 1

    amend(opened_by_both, first, delivered="9", comment="Farah's change")
    stale = dataclasses.replace(LineValues.of(opened_by_both), delivered=D("8"), comment="Second change")
    with pytest.raises(StaleEdit, match="Farah Khan changed this line while you were editing it") as caught:
        actual_amend(
            provider=council.provider_a, line_id=opened_by_both.pk, by=second, values=stale, revision=1
        )

    assert (caught.value.line.delivered, caught.value.line.comment) == (D("9"), "Farah's change")
    stored = actual_of(council.line_a)
    assert (stored.delivered, stored.comment, stored.revision, stored.amended_by) == (
        D("9"), "Farah's change", 2, first,
    )  # fmt: skip
    assert AuditEvent.objects.filter(action="actuals.line.amended").count() == 1


@pytest.mark.django_db
def test_a_confirmed_line_cannot_be_amended(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    confirm(council.provider_a, council.users["provider_a"])
    line = actual_of(council.line_a)
    with pytest.raises(ActualsError, match="has been confirmed"):
        amend(line, council.users["provider_a"], delivered="9", comment="Too late")
    assert actual_of(council.line_a).delivered == D("10.50")


@pytest.mark.django_db
def test_another_providers_line_is_not_there(council: Council, week: dt.date) -> None:
    generate(council.provider_b)
    line_b = actual_of(council.line_b)
    values = dataclasses.replace(LineValues.of(line_b), delivered=D("0"), missed=D("10.5"), comment="x")
    with pytest.raises(ActualLine.DoesNotExist):
        actual_amend(
            provider=council.provider_a,
            line_id=line_b.pk,
            by=council.users["provider_a"],
            values=values,
            revision=1,
        )
    assert actual_of(council.line_b).delivered == D("10.50")
