"""Closure days: listed, added with a GOV.UK date input, removed after a confirmation, audited; a
deadline that falls on one moves to the next working day, in the tracker and on the weeks themselves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from actuals import calendar, closures
from actuals.models import ClosureDay, ProviderWeek
from portal.audit.models import AuditEvent
from portal.clock import LONDON
from tests.actuals.conftest import WEEK, generate
from tests.conftest import Council

pytestmark = pytest.mark.django_db

PAGE = "council_closure_days"
TUESDAY = dt.date(2026, 11, 10)  # WEEK's deadline day


def date_fields(
    when: dt.date | None = None, *, name: str = "Council closure", **parts: str
) -> dict[str, str]:
    """The add form's fields: `when` as the three boxes, or the boxes as typed (day=, month=, year=)."""
    data = {"date_day": "", "date_month": "", "date_year": "", "name": name}
    if when is not None:
        data.update(date_day=str(when.day), date_month=str(when.month), date_year=str(when.year))
    data.update({f"date_{key}": value for key, value in parts.items()})
    return data


def test_adding_a_closure_day_lists_it_and_audits_it(week, finance_client, council: Council) -> None:
    page = finance_client.get(reverse(PAGE)).content.decode()
    assert "There are no closure days to come." in page
    assert (
        'id="id_date_day"' in page
        and '<legend class="govuk-fieldset__legend govuk-fieldset__legend--s">Date the council is closed</legend>'
        in page
    )
    response = finance_client.post(reverse(PAGE), date_fields(dt.date(2026, 12, 25), name="Christmas Day"))
    assert response.status_code == 302
    closure = ClosureDay.objects.get()
    assert (closure.day, closure.name) == (dt.date(2026, 12, 25), "Christmas Day")
    listed = finance_client.get(reverse(PAGE)).content.decode()
    assert "Friday 25 December 2026" in listed and "added as a closure day" in listed
    event = AuditEvent.objects.get(action="actuals.closure_day.added")
    assert event.actor == council.users["finance"] and event.data["name"] == "Christmas Day"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (date_fields(), "Enter the date the council is closed"),
        (date_fields(day="31", month="2", year="2027"), "The date the council is closed must be a real date"),
        (date_fields(day="25", month="12", year=""), "The date the council is closed must include a year"),
        (date_fields(dt.date(2026, 11, 6)), "Friday 6 November 2026 has passed"),
        (date_fields(dt.date(2031, 1, 1)), "The closure day must be within the next 3 years"),
        (date_fields(dt.date(2026, 12, 28), name=" "), "Enter the name of the closure day"),
    ],
)
def test_clear_errors(week, finance_client, council: Council, data: dict[str, str], message: str) -> None:
    response = finance_client.post(reverse(PAGE), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: " in page and message in page
    assert not ClosureDay.objects.exists()
    if data["date_day"]:
        assert f'value="{data["date_day"]}"' in page  # what was typed is kept


def test_a_duplicate_day_is_refused(week, finance_client, council: Council) -> None:
    ClosureDay.objects.create(day=dt.date(2026, 12, 25), name="Christmas Day")
    page = finance_client.post(
        reverse(PAGE), date_fields(dt.date(2026, 12, 25), name="Xmas")
    ).content.decode()
    assert "Friday 25 December 2026 is already a closure day (Christmas Day)" in page
    assert ClosureDay.objects.get().name == "Christmas Day"


def test_today_can_be_added(week, finance_client, council: Council) -> None:
    finance_client.post(reverse(PAGE), date_fields(dt.date(2026, 11, 9), name="Snow day"))
    assert ClosureDay.objects.filter(day=dt.date(2026, 11, 9)).exists()


def test_a_closure_day_on_the_deadline_moves_it_in_the_tracker_and_on_the_weeks(
    week, finance_client, council: Council
) -> None:
    in_progress = generate(council.provider_a)
    assert in_progress.deadline == dt.datetime(2026, 11, 10, 17, 0, tzinfo=LONDON)
    finance_client.post(reverse(PAGE), date_fields(TUESDAY, name="Council strike day"))
    in_progress.refresh_from_db()
    assert in_progress.deadline == dt.datetime(2026, 11, 11, 17, 0, tzinfo=LONDON)
    assert calendar.week_deadline(WEEK) == in_progress.deadline
    tracker = finance_client.get(reverse("council_deadlines")).content.decode()
    assert "5pm on Wednesday 11 November 2026" in tracker
    assert (
        "Moved from 5pm on Tuesday 10 November 2026 by the closure day: Council strike day (10 Nov 2026)"
        in tracker
    )
    # A week generated afterwards gets the moved deadline too.
    assert generate(council.provider_b).deadline == in_progress.deadline


def test_removing_a_closure_day_after_confirming_puts_the_deadline_back(
    week, finance_client, council: Council
) -> None:
    in_progress = generate(council.provider_a)
    closures.closure_day_add(day=TUESDAY, name="Council strike day", by=council.users["finance"])
    closure = ClosureDay.objects.get()
    url = reverse("council_closure_day_remove", kwargs={"pk": closure.pk})
    confirm_page = finance_client.get(url).content.decode()
    assert "Remove Council strike day, Tuesday 10 November 2026?" in confirm_page
    assert ClosureDay.objects.exists()  # looking at the question removes nothing
    response = finance_client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse(PAGE)
    assert not ClosureDay.objects.exists()
    assert "is no longer a closure day" in finance_client.get(reverse(PAGE)).content.decode()
    in_progress.refresh_from_db()
    assert in_progress.deadline == dt.datetime(2026, 11, 10, 17, 0, tzinfo=LONDON)
    event = AuditEvent.objects.get(action="actuals.closure_day.removed")
    assert event.actor == council.users["finance"] and event.data["day"] == "2026-11-10"


def test_a_past_closure_day_is_shown_but_cannot_be_removed(week, finance_client, council: Council) -> None:
    past = ClosureDay.objects.create(day=dt.date(2026, 8, 31), name="Summer bank holiday")
    page = finance_client.get(reverse(PAGE)).content.decode()
    assert "Monday 31 August 2026: Summer bank holiday" in page
    assert reverse("council_closure_day_remove", kwargs={"pk": past.pk}) not in page
    assert (
        finance_client.post(reverse("council_closure_day_remove", kwargs={"pk": past.pk})).status_code == 404
    )
    with pytest.raises(closures.ClosureDayError, match="has passed"):
        closures.closure_day_remove(closure_day_id=past.pk, by=council.users["finance"])
    assert ClosureDay.objects.filter(pk=past.pk).exists()


def test_confirmed_weeks_keep_their_deadline(week, finance_client, council: Council) -> None:
    from tests.actuals.conftest import confirm

    confirmed = confirm(
        council.provider_a, council.users["provider_a"], week_start=generate(council.provider_a).week_start
    )
    closures.closure_day_add(day=TUESDAY, name="Council strike day", by=council.users["finance"])
    assert ProviderWeek.objects.get(pk=confirmed.week.pk).deadline == dt.datetime(
        2026, 11, 10, 17, 0, tzinfo=LONDON
    )


def test_providers_cannot_change_closure_days(
    week, council: Council, provider_a_client, portal_admin_client
) -> None:
    closure = ClosureDay.objects.create(day=dt.date(2026, 12, 25), name="Christmas Day")
    remove = reverse("council_closure_day_remove", kwargs={"pk": closure.pk})
    assert provider_a_client.get(reverse(PAGE)).status_code == 403
    assert provider_a_client.post(reverse(PAGE), date_fields(dt.date(2026, 12, 26))).status_code == 403
    assert provider_a_client.post(remove).status_code == 403
    assert list(ClosureDay.objects.values_list("day", flat=True)) == [dt.date(2026, 12, 25)]
    # Portal administrators manage them as well as finance officers.
    assert (
        portal_admin_client.post(
            reverse(PAGE), date_fields(dt.date(2026, 12, 28), name="Boxing Day (substitute)")
        ).status_code
        == 302
    )
