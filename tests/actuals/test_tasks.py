"""The weekly cycle's scheduled work: Monday 06:00 generation for every portal-enabled provider (one
task each, idempotent, one failure not stopping the others) and the reminder slots, on London time."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings

from actuals import services, tasks
from actuals.models import ActualLine, DeadlineReminder, ProviderWeek
from portal.audit.models import AuditEvent
from portal.celery import app as celery_app
from portal.clock import LONDON
from tests.actuals.conftest import AGENCY, WEEK, actual_of, amend, service_type
from tests.conftest import Council
from tests.factories import CarePackageLineFactory

pytestmark = pytest.mark.django_db

MONDAY_6AM = dt.datetime(2026, 11, 9, 6, 0, tzinfo=LONDON)


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks run in this process when queued, their failures kept in the result (as a worker would)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_always_eager = False


@pytest.mark.parametrize(
    ("name", "task", "hour", "day", "kwargs"),
    [
        ("actuals-generate", "actuals.tasks.actuals_generate_all", 6, 1, {}),
        (
            "actuals-remind-monday",
            "actuals.tasks.deadline_reminders_send_automatic",
            14,
            1,
            {"slot": "monday-afternoon"},
        ),
        (
            "actuals-remind-tuesday",
            "actuals.tasks.deadline_reminders_send_automatic",
            9,
            2,
            {"slot": "tuesday-morning"},
        ),
    ],
)
def test_the_beat_schedule_has_the_weekly_entries_on_london_time(
    name: str, task: str, hour: int, day: int, kwargs: dict[str, str]
) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE[name]
    assert entry["task"] == task and task in celery_app.tasks
    assert entry.get("kwargs", {}) == kwargs
    schedule = entry["schedule"]
    assert schedule == crontab(minute=0, hour=hour, day_of_week=day)
    assert (schedule.minute, schedule.hour, schedule.day_of_week) == ({0}, {hour}, {day})
    assert celery_app.conf.timezone == "Europe/London"
    for slot in kwargs.values():
        assert slot in tasks.reminders.AUTOMATIC_SLOTS


def test_the_generation_entry_is_due_at_six_london_time_in_summer_and_winter() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE["actuals-generate"]["schedule"]
    assert schedule.tz.key == "Europe/London"
    for monday in (
        dt.datetime(2026, 3, 30, 6, 0, tzinfo=LONDON),
        dt.datetime(2026, 11, 9, 6, 0, tzinfo=LONDON),
    ):
        last_run = monday - dt.timedelta(days=7)
        with time_machine.travel(monday + dt.timedelta(seconds=1), tick=False):
            assert schedule.is_due(last_run).is_due
        with time_machine.travel(monday - dt.timedelta(minutes=1), tick=False):
            assert not schedule.is_due(last_run).is_due


def test_monday_generation_makes_the_week_just_ended_for_every_enabled_provider(
    eager, council: Council
) -> None:
    off = CarePackageLineFactory(provider__portal_enabled=False).provider
    invoice_only = CarePackageLineFactory(
        service_type=service_type(AGENCY), planned_per_week=Decimal("1")
    ).provider
    with time_machine.travel(MONDAY_6AM, tick=False):
        assert tasks.actuals_generate_all() == 3  # A, B and the invoice-only provider are queued
    weeks = ProviderWeek.objects.filter(week_start=WEEK)
    assert set(weeks.values_list("provider_id", flat=True)) == {council.provider_a.pk, council.provider_b.pk}
    assert not ProviderWeek.objects.filter(provider__in=[off, invoice_only]).exists()  # no empty week either
    assert weeks.get(provider=council.provider_a).generated_by is None
    assert ActualLine.objects.filter(week__week_start=WEEK).count() == 2


def test_generating_again_is_a_no_op_and_keeps_amended_lines(eager, council: Council) -> None:
    with time_machine.travel(MONDAY_6AM, tick=False):
        tasks.actuals_generate_all()
    with time_machine.travel(MONDAY_6AM + dt.timedelta(hours=3), tick=False):
        line = amend(
            actual_of(council.line_a),
            council.users["provider_a"],
            delivered="8",
            missed="2.5",
            comment="Carer off sick",
        )
    before = list(ActualLine.objects.order_by("pk").values_list("pk", "delivered", "missed", "revision"))
    events = AuditEvent.objects.filter(action="actuals.week.generated").count()
    with time_machine.travel(MONDAY_6AM + dt.timedelta(hours=4), tick=False):
        tasks.actuals_generate_all()  # the beat delivered it twice, or someone ran it by hand
        tasks.actuals_generate_for_provider(council.provider_a.pk, WEEK.isoformat())
    assert (
        list(ActualLine.objects.order_by("pk").values_list("pk", "delivered", "missed", "revision")) == before
    )
    assert actual_of(council.line_a).delivered == line.delivered == Decimal("8")
    assert AuditEvent.objects.filter(action="actuals.week.generated").count() == events
    assert ProviderWeek.objects.filter(week_start=WEEK).count() == 2


def test_a_provider_that_fails_does_not_stop_the_others(eager, council: Council, monkeypatch, caplog) -> None:
    real = services.actuals_generate

    def failing_for_a(*, provider, week_start, by):  # type: ignore[no-untyped-def]
        if provider.pk == council.provider_a.pk:
            raise RuntimeError("disk full")
        return real(provider=provider, week_start=week_start, by=by)

    monkeypatch.setattr(services, "actuals_generate", failing_for_a)
    with caplog.at_level(logging.ERROR, logger="actuals.tasks"), time_machine.travel(MONDAY_6AM, tick=False):
        tasks.actuals_generate_all()
    assert list(ProviderWeek.objects.values_list("provider_id", flat=True)) == [council.provider_b.pk]
    assert f"Generating 2026-11-02 for provider {council.provider_a.ref} failed" in caplog.text


def test_the_week_is_the_one_just_ended_across_the_clock_change(eager, council: Council) -> None:
    """06:00 on the first Monday of summer time is 05:00 UTC: still that Monday in London."""
    with time_machine.travel(dt.datetime(2026, 3, 30, 6, 0, tzinfo=LONDON), tick=False):
        tasks.actuals_generate_all()
    assert set(ProviderWeek.objects.values_list("week_start", flat=True)) == {dt.date(2026, 3, 23)}


def test_a_provider_switched_off_since_is_skipped(eager, council: Council) -> None:
    council.provider_a.portal_enabled = False
    council.provider_a.save()
    assert tasks.actuals_generate_for_provider(council.provider_a.pk, WEEK.isoformat()) == "not enabled"
    assert not ProviderWeek.objects.exists()


def test_the_reminder_task_is_idempotent_in_its_slot(council: Council) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 9, 14, 0, tzinfo=LONDON), tick=False):
        assert tasks.deadline_reminders_send_automatic("monday-afternoon") == 2  # A and B: not started
        assert tasks.deadline_reminders_send_automatic("monday-afternoon") == 0
        assert DeadlineReminder.objects.count() == 2
    with pytest.raises(tasks.reminders.ReminderError):
        tasks.deadline_reminders_send_automatic("friday-night")
