"""The deadline tracker: every provider expected to confirm a week, by state, with counts and filters;
reminders by email (confirmed first, once a run), and the scheduled reminders on Monday afternoon and
Tuesday morning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from actuals import reminders
from actuals.models import DeadlineReminder, ProviderWeek
from actuals.tasks import deadline_reminders_send_automatic
from portal.accounts.models import User
from portal.audit.models import AuditEvent
from portal.clock import LONDON
from portal.providers.models import Provider
from tests.actuals.conftest import AGENCY, DEADLINE, WEEK, confirm, generate, service_type
from tests.conftest import Council, email_body
from tests.factories import CarePackageLineFactory, MembershipFactory

pytestmark = pytest.mark.django_db

TRACKER = "council_deadlines"
REMIND = "council_deadline_reminders"


@pytest.fixture
def providers(week, council: Council) -> dict[str, Any]:
    """Provider A confirmed on time, B generated (in progress), C not started, L confirmed late; and two
    not expected: D with portal access off, E paid only on invoice."""
    confirm(
        council.provider_a, council.users["provider_a"], week_start=generate(council.provider_a).week_start
    )
    generate(council.provider_b)
    c = CarePackageLineFactory(provider__name="Calder Care", provider__email="office@calder.example").provider
    late = CarePackageLineFactory(provider__name="Lateby Living").provider
    generate(late)
    with time_machine.travel(DEADLINE + dt.timedelta(hours=1), tick=False):
        confirm(late, council.users["portal_admin"])
    off = CarePackageLineFactory(
        provider__name="Dormant Domiciliary", provider__portal_enabled=False
    ).provider
    invoice_only = CarePackageLineFactory(
        provider__name="Elm Agency", service_type=service_type(AGENCY), planned_per_week=Decimal("1")
    ).provider
    return {
        "a": council.provider_a,
        "b": council.provider_b,
        "c": c,
        "late": late,
        "off": off,
        "invoice": invoice_only,
    }


def states(response) -> dict[str, str]:
    return {row.provider.name: row.state.value for row in response.context["rows"]}


def test_the_week_due_with_every_expected_provider_by_state(finance_client, providers) -> None:
    response = finance_client.get(reverse(TRACKER))
    assert response.status_code == 200
    assert response.context["board"].week_start == WEEK
    assert states(response) == {
        providers["a"].name: "on_time",
        providers["b"].name: "in_progress",
        "Calder Care": "not_started",
        "Lateby Living": "late",
    }
    assert response.context["board"].counts == {"not_started": 1, "in_progress": 1, "late": 1, "on_time": 1}
    page = response.content.decode()
    assert "5pm on Tuesday 10 November 2026" in page
    assert "Dormant Domiciliary" not in page and "Elm Agency" not in page
    # Those still to confirm come first.
    assert [row.state.value for row in response.context["rows"]][:2] == ["not_started", "in_progress"]
    for state in ("not_started", "in_progress", "late", "on_time"):
        assert f'data-testid="count-{state}">1' in page


def test_filtering_by_state_and_choosing_another_week(finance_client, providers) -> None:
    url = reverse(TRACKER)
    assert states(finance_client.get(url, {"state": "not_started"})) == {"Calder Care": "not_started"}
    assert set(states(finance_client.get(url, {"state": "late"}))) == {"Lateby Living"}
    earlier = finance_client.get(url, {"week": "2026-10-26"})
    assert earlier.context["board"].week_start == dt.date(2026, 10, 26)
    assert set(states(earlier).values()) == {"not_started"}
    assert "5pm on Tuesday 3 November 2026" in earlier.content.decode()
    by_name = finance_client.get(url, {"sort": "-provider"})
    names = [row.provider.name for row in by_name.context["rows"]]
    assert names == sorted(names, reverse=True)


def test_a_week_that_is_not_a_monday_is_an_error_and_the_week_due_is_shown(finance_client, providers) -> None:
    response = finance_client.get(reverse(TRACKER), {"week": "2026-11-03"})
    page = response.content.decode()
    assert "<title>Error: " in page and "A week starts on a Monday" in page
    assert response.context["board"].week_start == WEEK
    nonsense = finance_client.get(reverse(TRACKER), {"week": "soon", "state": "sideways"}).content.decode()
    assert "Choose a week from the list" in nonsense and "Choose what to show from the list" in nonsense


def test_sending_reminders_after_confirming_emails_those_not_confirmed_once(
    finance_client, providers, council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    colleague = MembershipFactory(provider=providers["c"], user__email="c.colleague@example.org").user
    gone = MembershipFactory(provider=providers["c"], user__email="c.gone@example.org").user
    User.objects.filter(pk=gone.pk).update(is_active=False)
    locked = MembershipFactory(provider=providers["c"], user__email="c.locked@example.org").user
    User.objects.filter(pk=locked.pk).update(locked_at=dt.datetime(2026, 10, 1, tzinfo=LONDON))

    page = finance_client.get(reverse(REMIND), {"week": WEEK.isoformat()})
    assert page.status_code == 200
    html = page.content.decode()
    assert "Send 2 reminders" in html
    assert {row.provider.name for row, _ in page.context["rows"]} == {providers["b"].name, "Calder Care"}
    assert mailbox() == []  # the page itself sends nothing
    form = page.context["confirm"]
    data = {"week": form.initial["week"], "run": form.initial["run"]}

    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(reverse(REMIND), data)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse(TRACKER)}?week={WEEK.isoformat()}"
    sent = {message["To"]: message for message in mailbox()}
    assert set(sent) == {
        ", ".join(sorted([providers["b"].email, "b.user@example.org", "manager@example.org"])),
        "c.colleague@example.org, office@calder.example",
    }
    to_c = sent["c.colleague@example.org, office@calder.example"]
    assert (
        to_c["Subject"]
        == "Reminder: actuals for the week of 2 Nov 2026 are due by 5pm on Tuesday 10 November 2026"
    )
    body = email_body(to_c)
    assert "Calder Care" in body and "Nothing has been recorded for the week yet" in body
    assert "http://127.0.0.1:8000/actuals/2026-11-02/" in body
    assert colleague.email in to_c["To"]

    followed = finance_client.get(response["Location"]).content.decode()
    assert "Reminders sent to 2 providers (5 email addresses)." in followed
    assert DeadlineReminder.objects.filter(week_start=WEEK, automatic=False).count() == 2
    assert ProviderWeek.objects.get(provider=providers["b"], week_start=WEEK).reminded_at is not None
    events = AuditEvent.objects.filter(action="actuals.deadline.reminded")
    assert events.count() == 2 and {e.actor for e in events} == {council.users["finance"]}

    # The same confirmation submitted again reminds nobody twice.
    with django_capture_on_commit_callbacks(execute=True):
        again = finance_client.post(reverse(REMIND), data)
    assert len(mailbox()) == 2
    assert (
        "2 providers had already been reminded by this page"
        in finance_client.get(again["Location"]).content.decode()
    )
    # The tracker shows who was reminded, and when.
    tracker = finance_client.get(reverse(TRACKER))
    calder = next(row for row in tracker.context["rows"] if row.provider.name == "Calder Care")
    assert calder.last_reminder is not None and calder.reminders == 1
    assert f"By {council.users['finance'].get_full_name()}" in tracker.content.decode()


def test_a_provider_with_no_address_is_named_not_reminded(
    finance_client, providers, mailbox, django_capture_on_commit_callbacks
) -> None:
    Provider.objects.filter(pk=providers["c"].pk).update(email="")
    page = finance_client.get(reverse(REMIND))
    assert "None: not reminded" in page.content.decode()
    form = page.context["confirm"]
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(reverse(REMIND), form.initial)
    assert len(mailbox()) == 1
    assert (
        "Not reminded, with no email address: Calder Care."
        in finance_client.get(response["Location"]).content.decode()
    )


def test_nobody_to_remind_offers_no_button(finance_client, council: Council, week) -> None:
    confirm(
        council.provider_a, council.users["provider_a"], week_start=generate(council.provider_a).week_start
    )
    confirm(
        council.provider_b, council.users["provider_b"], week_start=generate(council.provider_b).week_start
    )
    page = finance_client.get(reverse(REMIND)).content.decode()
    assert "There is nobody to remind" in page and "Send 0" not in page
    assert f'href="{reverse(REMIND)}' not in finance_client.get(reverse(TRACKER)).content.decode()


def test_an_expired_reminder_form_sends_nothing(finance_client, providers, mailbox) -> None:
    response = finance_client.post(reverse(REMIND), {"week": WEEK.isoformat()})
    assert response.status_code == 302
    assert "This reminder page has expired" in finance_client.get(response["Location"]).content.decode()
    assert mailbox() == [] and not DeadlineReminder.objects.exists()


def test_the_scheduled_reminders_go_once_a_slot(
    providers, mailbox, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 9, 14, 0, tzinfo=LONDON), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert deadline_reminders_send_automatic("monday-afternoon") == 2
        with django_capture_on_commit_callbacks(execute=True):
            assert deadline_reminders_send_automatic("monday-afternoon") == 0  # the beat, twice: a no-op
    assert len(mailbox()) == 2
    reminder = DeadlineReminder.objects.filter(provider=providers["c"]).get()
    assert (
        reminder.automatic and reminder.sent_by is None and reminder.run == "auto:2026-11-09:monday-afternoon"
    )
    assert AuditEvent.objects.filter(action="actuals.deadline.reminded", actor=None).count() == 2

    confirm(providers["b"], User.objects.get(email="b.user@example.org"))
    tuesday = dt.datetime(2026, 11, 10, 9, 0, tzinfo=LONDON)
    with time_machine.travel(tuesday, tick=False), django_capture_on_commit_callbacks(execute=True):
        assert deadline_reminders_send_automatic("tuesday-morning") == 1  # B has confirmed since
    assert len(mailbox()) == 3 and "Calder Care" in email_body(mailbox()[-1])


def test_the_scheduled_reminder_after_the_deadline_is_for_the_next_week(providers) -> None:
    """On the Tuesday evening the week due is the week in progress: nobody is chased for it yet."""
    with time_machine.travel(dt.datetime(2026, 11, 10, 18, 0, tzinfo=LONDON), tick=False):
        run = reminders.deadline_reminders_automatic(slot="tuesday-morning")
    assert run.week_start == dt.date(2026, 11, 9)


def test_an_overdue_reminder_says_so(
    finance_client, providers, mailbox, django_capture_on_commit_callbacks
) -> None:
    with time_machine.travel(dt.datetime(2026, 11, 11, 9, 0, tzinfo=LONDON), tick=False):
        page = finance_client.get(reverse(REMIND), {"week": WEEK.isoformat()})
        with django_capture_on_commit_callbacks(execute=True):
            finance_client.post(reverse(REMIND), page.context["confirm"].initial)
    subjects = {message["Subject"] for message in mailbox()}
    assert subjects == {
        "Overdue: actuals for the week of 2 Nov 2026 were due 5pm on Tuesday 10 November 2026"
    }
    assert "paid in the next payment run" in email_body(mailbox()[0])


def test_providers_cannot_see_the_tracker_or_send_reminders(
    providers, provider_a_client, portal_admin_client, mailbox
) -> None:
    assert provider_a_client.get(reverse(TRACKER)).status_code == 403
    assert provider_a_client.get(reverse(REMIND)).status_code == 403
    response = provider_a_client.post(reverse(REMIND), {"week": WEEK.isoformat(), "run": "staff:x"})
    assert response.status_code == 403
    assert not DeadlineReminder.objects.exists()
    assert portal_admin_client.get(reverse(TRACKER)).status_code == 200  # portal administrators track too


def test_the_service_refuses_someone_not_on_the_council(providers, council: Council) -> None:
    with pytest.raises(reminders.ReminderError):
        reminders.deadline_reminders_send(week_start=WEEK, by=council.users["provider_a"], run="staff:x")
    with pytest.raises(reminders.ReminderError):
        reminders.deadline_reminders_send(
            week_start=dt.date(2026, 11, 3), by=council.users["finance"], run="x"
        )
