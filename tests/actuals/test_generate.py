"""Generating a week: one line per care package line running in it, filled in from the plan (pro-rated),
not for invoice-paid services or people who died before it; again, it adds what is missing, follows a
changed plan on untouched lines and never overwrites an amended one."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from actuals import selectors
from actuals.models import ActualLine, LineException, ProviderWeek
from actuals.services import ActualsError, actuals_generate
from portal.audit.models import AuditEvent
from portal.providers.models import CarePackageLine
from tests.actuals.conftest import (
    AGENCY,
    DAY_CARE,
    DEADLINE,
    MONDAY_AFTER,
    SUPPORTED_LIVING,
    actual_of,
    amend,
    exception_rules,
    generate,
    service_type,
)
from tests.conftest import Council
from tests.factories import CarePackageLineFactory, ServiceUserFactory

pytestmark = pytest.mark.django_db
D = Decimal


def test_one_line_per_care_package_line_filled_in_from_the_plan(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    result = actuals_generate(provider=council.provider_a, week_start=week, by=user)

    assert (result.created, result.refreshed, result.kept) == (1, 0, 0)
    provider_week = result.week
    assert provider_week.provider == council.provider_a
    assert provider_week.state == ProviderWeek.State.IN_PROGRESS
    assert provider_week.deadline == DEADLINE
    assert (provider_week.generated_at, provider_week.generated_by) == (MONDAY_AFTER, user)
    line = ActualLine.objects.get(week=provider_week)
    assert line.care_package_line == council.line_a
    assert line.provider == council.provider_a
    assert (line.planned, line.delivered, line.frustrated, line.missed, line.extra) == (
        D("10.50"), D("10.50"), 0, 0, 0,
    )  # fmt: skip
    assert (line.rate, line.amount) == (D("23.40"), D("245.70"))  # 10.5 × 23.40
    assert line.status == ActualLine.Status.DRAFT
    assert (line.version, line.revision, line.care_package_line_version) == (1, 1, 1)
    assert not line.amended and not line.exceptions.exists()


def test_another_providers_lines_stay_out(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    assert not ActualLine.objects.filter(care_package_line=council.line_b).exists()
    assert not ProviderWeek.objects.filter(provider=council.provider_b).exists()


def test_a_line_starting_on_the_thursday_is_pro_rated(council: Council, week: dt.date) -> None:
    cpl = CarePackageLineFactory(provider=council.provider_a, start_date=week + dt.timedelta(days=3))
    generate(council.provider_a)
    line = actual_of(cpl)
    assert (line.planned, line.delivered, line.amount) == (D("6.00"), D("6.00"), D("140.40"))


def test_a_line_ending_within_the_week_is_pro_rated(council: Council, week: dt.date) -> None:
    cpl = CarePackageLineFactory(
        provider=council.provider_a, end_date=week + dt.timedelta(days=1), status=CarePackageLine.Status.ENDED
    )
    generate(council.provider_a)
    assert actual_of(cpl).planned == D("3.00")


def test_lines_not_running_or_not_paid_through_actuals_are_left_out(council: Council, week: dt.date) -> None:
    provider = council.provider_a
    left_out = [
        CarePackageLineFactory(provider=provider, service_type=service_type(AGENCY)),
        CarePackageLineFactory(
            provider=provider, service_user=ServiceUserFactory(deceased_on=week - dt.timedelta(days=1))
        ),
        CarePackageLineFactory(provider=provider, end_date=week - dt.timedelta(days=1)),
        CarePackageLineFactory(provider=provider, start_date=week + dt.timedelta(days=7)),
        CarePackageLineFactory(provider=provider, status=CarePackageLine.Status.ENDED, end_date=None),
    ]
    died_in_the_week = CarePackageLineFactory(
        provider=provider, service_user=ServiceUserFactory(deceased_on=week + dt.timedelta(days=2))
    )
    generate(provider)
    generated = set(
        ActualLine.objects.filter(week__provider=provider).values_list("care_package_line", flat=True)
    )
    assert generated == {council.line_a.pk, died_in_the_week.pk}
    assert not generated & {cpl.pk for cpl in left_out}


def test_a_suspended_line_is_generated_with_nothing_delivered(council: Council, week: dt.date) -> None:
    cpl = CarePackageLineFactory(provider=council.provider_a, status=CarePackageLine.Status.SUSPENDED)
    generate(council.provider_a)
    line = actual_of(cpl)
    assert (line.planned, line.delivered, line.amount) == (D("10.50"), D("0"), D("0"))
    assert exception_rules(line) == set()  # nothing to fix: the suspension explains it


def test_a_suspended_line_paid_on_plan_still_pays_the_plan(council: Council, week: dt.date) -> None:
    cpl = CarePackageLineFactory(
        provider=council.provider_a,
        service_type=service_type(SUPPORTED_LIVING),
        planned_per_week=D("40"),
        rate=D("21.00"),
        status=CarePackageLine.Status.SUSPENDED,
    )
    generate(council.provider_a)
    line = actual_of(cpl)
    assert (line.delivered, line.amount) == (D("0"), D("840.00"))


def test_generating_again_adds_what_is_missing_and_keeps_the_rest(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    first = actual_of(council.line_a)
    new_cpl = CarePackageLineFactory(provider=council.provider_a, planned_per_week=D("3"))
    result = actuals_generate(provider=council.provider_a, week_start=week, by=None)
    assert (result.created, result.refreshed, result.kept) == (1, 0, 1)
    assert actual_of(new_cpl).delivered == D("3")
    again = actual_of(council.line_a)
    assert (again.pk, again.revision) == (first.pk, first.revision)


def test_generating_again_with_nothing_new_changes_nothing(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    events = AuditEvent.objects.count()
    result = actuals_generate(provider=council.provider_a, week_start=week, by=None)
    assert (result.created, result.refreshed, result.kept) == (0, 0, 1)
    assert ActualLine.objects.filter(week=result.week).count() == 1
    assert AuditEvent.objects.count() == events


def change_plan(cpl: CarePackageLine, **values: object) -> None:
    """The back office publishes a new version of the line (as the inbound sync stores it)."""
    for name, value in values.items():
        setattr(cpl, name, value)
    cpl.version += 1
    cpl.save()


def test_an_untouched_line_follows_a_changed_plan(council: Council, week: dt.date) -> None:
    generate(council.provider_a)
    change_plan(council.line_a, planned_per_week=D("14"), rate=D("24.00"))
    result = actuals_generate(provider=council.provider_a, week_start=week, by=None)
    assert (result.created, result.refreshed, result.kept) == (0, 1, 0)
    line = actual_of(council.line_a)
    assert (line.planned, line.delivered, line.rate, line.amount) == (
        D("14"),
        D("14"),
        D("24.00"),
        D("336.00"),
    )
    assert line.care_package_line_version == 2 and not line.care_package_line_changed
    assert line.revision == 2  # an edit begun on the old figures is refused


def test_an_amended_line_is_never_overwritten_and_is_flagged(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    generate(council.provider_a)
    amend(actual_of(council.line_a), user, delivered="9.00", comment="Cancelled one visit")
    change_plan(council.line_a, planned_per_week=D("14"))

    result = actuals_generate(provider=council.provider_a, week_start=week, by=None)

    assert (result.created, result.refreshed, result.kept) == (0, 0, 1)
    line = actual_of(council.line_a)
    assert (line.planned, line.delivered, line.comment) == (D("10.50"), D("9.00"), "Cancelled one visit")
    assert line.care_package_line_changed
    changed = selectors.changed_in_backoffice(ActualLine.objects.for_provider(council.provider_a))
    assert list(changed) == [line]


def test_the_generation_is_audited(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    provider_week = generate(council.provider_a, by=user)
    event = AuditEvent.objects.get(action="actuals.week.generated")
    assert (event.actor, event.provider, event.object_id) == (user, council.provider_a, str(provider_week.pk))
    assert event.data == {"created": 1, "refreshed": 0, "removed": 0, "kept": 0, "supplementary": False}


def test_exceptions_are_stored_with_the_lines(council: Council, week: dt.date) -> None:
    provider = council.provider_a
    died = CarePackageLineFactory(
        provider=provider, service_user=ServiceUserFactory(deceased_on=week + dt.timedelta(days=2))
    )
    twin = CarePackageLineFactory(provider=provider, service_user=council.line_a.service_user)
    generate(provider)

    exception = LineException.objects.get(line=actual_of(died))
    assert (exception.rule, exception.severity, exception.is_acknowledged) == ("ACT-14", "acknowledge", False)
    assert exception.message.startswith(f"{died.service_user.name} died on 4 November 2026")
    # The same person, service, plan and rate twice: a duplicate on both lines.
    assert exception_rules(actual_of(twin)) == {"ACT-08"}
    assert exception_rules(actual_of(council.line_a)) == {"ACT-08"}
    assert twin.ref in actual_of(council.line_a).exceptions.get().message


def test_day_care_is_generated_in_whole_sessions(council: Council, week: dt.date) -> None:
    cpl = CarePackageLineFactory(
        provider=council.provider_a,
        service_type=service_type(DAY_CARE),
        planned_per_week=D("3"),
        rate=D("55.00"),
        start_date=week + dt.timedelta(days=2),
    )
    generate(council.provider_a)
    line = actual_of(cpl)
    assert (line.planned, line.amount) == (D("2"), D("110.00"))  # 3 × 5/7 = 2.14 → 2 sessions


def test_a_week_starts_on_a_monday(council: Council, week: dt.date) -> None:
    with pytest.raises(ActualsError, match="A week starts on a Monday"):
        actuals_generate(provider=council.provider_a, week_start=week + dt.timedelta(days=1), by=None)
    assert not ProviderWeek.objects.exists()


def test_a_confirmed_week_gets_only_supplementary_lines(council: Council, week: dt.date) -> None:
    """A care package line the back office publishes after the week was confirmed is added as a draft, to
    be confirmed on its own; the lines confirmed before are not touched."""
    from tests.actuals.conftest import confirm

    generate(council.provider_a)
    confirm(council.provider_a, council.users["provider_a"])
    confirmed = ActualLine.objects.get(week__provider=council.provider_a)
    late = CarePackageLineFactory(provider=council.provider_a)
    result = actuals_generate(provider=council.provider_a, week_start=week, by=None)
    assert (result.created, result.refreshed) == (1, 0)
    added = ActualLine.objects.get(care_package_line=late)
    assert added.is_draft and added.week_id == confirmed.week_id
    confirmed_again = ActualLine.objects.get(pk=confirmed.pk)
    assert (confirmed_again.status, confirmed_again.revision) == (confirmed.status, confirmed.revision)

    week_row = confirmed.week
    week_row.refresh_from_db()
    first_confirmed_at = week_row.confirmed_at
    confirm(council.provider_a, council.users["provider_a"])
    added.refresh_from_db()
    assert added.status == ActualLine.Status.SENT
    week_row.refresh_from_db()
    assert week_row.confirmed_at == first_confirmed_at  # the week's own confirmation stands
    with pytest.raises(ActualsError, match="already been confirmed"):
        confirm(council.provider_a, council.users["provider_a"])


@pytest.mark.parametrize(
    ("week_start", "message"),
    [
        (dt.date(2026, 11, 16), "That week has not started yet"),  # the clock is on 9 November
        (dt.date(2025, 3, 31), "were claimed before the portal"),  # ACTUALS_FROM is 7 April 2025
    ],
)
def test_only_weeks_from_the_portals_first_to_the_current_can_be_generated(
    council: Council, week: dt.date, week_start: dt.date, message: str
) -> None:
    with pytest.raises(ActualsError, match=message):
        actuals_generate(provider=council.provider_a, week_start=week_start, by=None)
    assert not ProviderWeek.objects.exists()
    # the week in progress can be started (to fill in as it goes), and the first week too
    for allowed in (dt.date(2026, 11, 9), dt.date(2025, 4, 7)):
        actuals_generate(provider=council.provider_a, week_start=allowed, by=None)


def test_an_untouched_line_whose_care_package_line_no_longer_runs_is_removed(
    council: Council, week: dt.date
) -> None:
    """The back office ended a line before the week after it was generated: an untouched draft for it is
    removed (nothing to claim); an amended one stays, and the rules say what is wrong with it."""
    other = CarePackageLineFactory(provider=council.provider_a)
    generate(council.provider_a)
    amend(actual_of(other), council.users["provider_a"], delivered="2", comment="Two visits before it ended")
    for cpl in (council.line_a, other):
        cpl.end_date, cpl.status, cpl.version = week - dt.timedelta(days=1), CarePackageLine.Status.ENDED, 2
        cpl.save()

    result = actuals_generate(provider=council.provider_a, week_start=week, by=None)

    assert (result.created, result.refreshed, result.removed) == (0, 0, 1)
    assert list(
        ActualLine.objects.filter(week__week_start=week).values_list("care_package_line", flat=True)
    ) == [other.pk]
    assert "ACT-05" in exception_rules(actual_of(other))
    assert (
        AuditEvent.objects.filter(action="actuals.week.generated").order_by("pk").last().data["removed"] == 1
    )
