"""What the checklist and the week's pages read: a week's counts, the earlier weeks still open and the
time left to the deadline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from actuals.models import ProviderWeek
from actuals.selectors import open_earlier_weeks, time_left, week_summary
from portal.clock import LONDON
from tests.actuals.conftest import DEADLINE, WEEK, acknowledge_all, actual_of, amend, confirm, generate
from tests.conftest import Council
from tests.factories import CarePackageLineFactory, ProviderFactory

D = Decimal


@pytest.mark.django_db
def test_a_weeks_counts(council: Council, week: dt.date) -> None:
    user = council.users["provider_a"]
    provider = council.provider_a
    frustrated, acknowledged, _untouched = (CarePackageLineFactory(provider=provider) for _ in range(3))
    generate(provider)
    amend(actual_of(council.line_a), user, delivered="9")  # no comment: blocking
    amend(actual_of(frustrated), user, delivered="4.50", frustrated="6", comment="Hospital")
    acknowledge_all(
        amend(actual_of(acknowledged), user, delivered="4.50", frustrated="6", comment="Hospital"), user
    )

    summary = week_summary(provider=provider, week_start=WEEK)

    assert (summary.generated, summary.confirmed, summary.ended) == (True, False, True)
    assert (summary.lines, summary.amended, summary.variances, summary.uncommented) == (4, 3, 3, 1)
    assert (summary.blocking, summary.blocking_lines, summary.unacknowledged, summary.acknowledged) == (
        1,
        1,
        1,
        1,
    )
    assert summary.total == D("9") * D("23.40") + 2 * D("10.50") * D("23.40") + D("245.70")
    assert summary.by_status == {"draft": 4}
    assert summary.deadline == DEADLINE
    assert not summary.ready_to_confirm
    assert summary.state_label == "In progress"
    assert week_summary(provider=council.provider_b, week_start=WEEK).lines == 0  # another provider's


@pytest.mark.django_db
def test_a_week_not_started_confirmed_or_late(council: Council, week: dt.date) -> None:
    summary = week_summary(provider=council.provider_a, week_start=WEEK)
    assert (summary.generated, summary.week, summary.deadline, summary.state_label) == (
        False, None, DEADLINE, "Not started",
    )  # fmt: skip
    generate(council.provider_a)
    assert week_summary(provider=council.provider_a, week_start=WEEK).ready_to_confirm
    with time_machine.travel(DEADLINE + dt.timedelta(minutes=1), tick=False):
        overdue = week_summary(provider=council.provider_a, week_start=WEEK)
        assert (overdue.overdue, overdue.state_label) == (True, "Overdue")
        confirm(council.provider_a, council.users["provider_a"])
        confirmed = week_summary(provider=council.provider_a, week_start=WEEK)
    assert (confirmed.confirmed, confirmed.overdue, confirmed.state_label) == (True, False, "Confirmed late")
    assert confirmed.status_rows == [("Sent", 1, D("245.70"))]


@pytest.mark.django_db
def test_earlier_weeks_still_open(council: Council, week: dt.date) -> None:
    provider = council.provider_a
    generate(provider)
    confirm(provider, council.users["provider_a"])  # WEEK: confirmed, not open
    generate(provider, WEEK - dt.timedelta(weeks=1))  # generated, not confirmed
    long_ago = ProviderWeek.objects.create(
        provider=provider, week_start=dt.date(2026, 6, 1), deadline=DEADLINE, generated_at=DEADLINE
    )

    weeks = open_earlier_weeks(provider=provider, before=WEEK + dt.timedelta(weeks=1))

    starts = [summary.week_start for summary in weeks]
    eight_weeks = [WEEK - dt.timedelta(weeks=n) for n in range(7, 0, -1)]  # WEEK itself is confirmed
    assert starts == [long_ago.week_start, *eight_weeks]
    by_start = {summary.week_start: summary for summary in weeks}
    assert by_start[WEEK - dt.timedelta(weeks=1)].generated
    assert not by_start[WEEK - dt.timedelta(weeks=2)].generated


@pytest.mark.django_db
def test_earlier_weeks_start_when_portal_access_did() -> None:
    provider = ProviderFactory(
        portal_enabled_at=dt.datetime(2026, 10, 21, 9, 0, tzinfo=dt.UTC)
    )  # a Wednesday
    weeks = open_earlier_weeks(provider=provider, before=WEEK)
    assert [summary.week_start for summary in weeks] == [dt.date(2026, 10, 19), dt.date(2026, 10, 26)]


@pytest.mark.parametrize(
    ("now", "text"),
    [
        pytest.param(
            dt.datetime(2026, 11, 9, 10, 0, tzinfo=LONDON), "1 day 7 hours left", id="Monday morning"
        ),
        pytest.param(dt.datetime(2026, 11, 10, 16, 25, tzinfo=LONDON), "35 minutes left", id="Tuesday 16:25"),
        pytest.param(dt.datetime(2026, 11, 2, 9, 0, tzinfo=LONDON), "8 days left", id="over a week"),
        pytest.param(dt.datetime(2026, 11, 12, 18, 0, tzinfo=LONDON), "overdue by 2 days 1 hour", id="late"),
    ],
)
def test_time_left(now: dt.datetime, text: str) -> None:
    assert time_left(DEADLINE, now=now.astimezone(dt.UTC)) == text
