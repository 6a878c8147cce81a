"""What the checklist and the week's pages read: a week's counts, the earlier weeks still open and the
time left to the deadline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from actuals.models import ActualLine, ProviderWeek
from actuals.selectors import (
    open_earlier_weeks,
    time_left,
    week_summaries,
    week_summary,
    weeks_with_care_on_actuals,
)
from actuals.services import lines_running_in_week
from portal.clock import LONDON
from portal.providers.models import CarePackageLine
from tests.actuals.conftest import (
    AGENCY,
    DEADLINE,
    WEEK,
    acknowledge_all,
    actual_of,
    amend,
    confirm,
    generate,
    service_type,
)
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
    assert summary.to_pay == D("9") * D("23.40") + 2 * D("10.50") * D("23.40") + D("245.70")
    assert (summary.to_pay_lines, summary.exceptions) == (4, 3)  # every line is a draft, so all are paid
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
    CarePackageLineFactory(provider=provider)
    weeks = open_earlier_weeks(provider=provider, before=WEEK)
    assert [summary.week_start for summary in weeks] == [dt.date(2026, 10, 19), dt.date(2026, 10, 26)]


@pytest.mark.django_db
def test_the_total_to_be_paid_leaves_out_lines_this_payment_will_not_pay(
    council: Council, week: dt.date
) -> None:
    """Draft, sent and accepted lines make the total to be paid; held, disputed, rejected, paid and
    not payable lines are shown beside it, with their amounts, and not counted in it."""
    provider = council.provider_a
    CarePackageLineFactory.create_batch(7, provider=provider)
    generate(provider)
    lines = list(ActualLine.objects.filter(week__week_start=WEEK).order_by("pk"))
    statuses = ["draft", "held", "disputed", "sent", "accepted", "rejected", "paid", "not_payable"]
    for n, (line, status) in enumerate(zip(lines, statuses, strict=True)):
        # £1.00 for the draft line, £2.00 for the held one, ... £8.00 for the one not payable
        ActualLine.objects.filter(pk=line.pk).update(
            status=status, amount=D(n + 1), confirmed_at=None if status == "draft" else DEADLINE
        )

    summary = week_summary(provider=provider, week_start=WEEK)

    assert (summary.to_pay, summary.to_pay_lines) == (D("1") + D("4") + D("5"), 3)
    assert summary.to_pay_rows == [("Draft", 1, D("1")), ("Sent", 1, D("4")), ("Accepted", 1, D("5"))]
    assert [(status, label, n, amount) for status, label, n, amount, _why in summary.not_to_pay_rows] == [
        ("held", "Held for review", 1, D("2")),
        ("disputed", "Disputed", 1, D("3")),
        ("rejected", "Rejected", 1, D("6")),
        ("paid", "Paid", 1, D("7")),
        ("not_payable", "Not payable", 1, D("8")),
    ]
    assert summary.lines == 8 and len(summary.status_rows) == 8


@pytest.mark.django_db
def test_several_weeks_summed_at_once_keep_their_own_counts(
    council: Council, week: dt.date, django_assert_num_queries
) -> None:
    provider = council.provider_a
    earlier = WEEK - dt.timedelta(weeks=1)
    not_started = WEEK - dt.timedelta(weeks=2)
    generate(provider)
    generate(provider, earlier)
    amend(actual_of(council.line_a, earlier), council.users["provider_a"], delivered="9")  # blocking
    generate(council.provider_b)  # another provider's week: never counted

    with django_assert_num_queries(3):  # the weeks, their counts, the closure days (for the one not started)
        summaries = week_summaries(provider=provider, week_starts=[WEEK, earlier, not_started])

    assert [summary.week_start for summary in summaries] == [WEEK, earlier, not_started]
    this, last, never = summaries
    assert (this.lines, this.exceptions, this.blocking, this.variances, this.to_pay) == (
        1, 0, 0, 0, D("245.70"),
    )  # fmt: skip
    assert (last.lines, last.exceptions, last.blocking, last.blocking_lines, last.uncommented) == (
        1, 1, 1, 1, 1,
    )  # fmt: skip
    assert (last.variances, last.amended, last.to_pay) == (1, 1, D("9") * D("23.40"))
    assert (never.generated, never.lines, never.to_pay, never.deadline) == (
        False, 0, D("0"), DEADLINE - dt.timedelta(weeks=2),
    )  # fmt: skip


@pytest.mark.django_db
def test_care_all_paid_on_invoice_leaves_no_week_open(week: dt.date) -> None:
    """A fostering agency paid on invoice has nothing to confirm through actuals: no earlier week is open,
    not even one it generated (which has no lines); a provider with care paid through actuals besides
    still has its weeks."""
    agency = ProviderFactory()
    CarePackageLineFactory(provider=agency, service_type=service_type(AGENCY))
    generate(agency, WEEK - dt.timedelta(weeks=1))  # makes the week, with no line in it
    assert ActualLine.objects.filter(provider=agency).count() == 0

    assert open_earlier_weeks(provider=agency, before=WEEK) == []

    CarePackageLineFactory(provider=agency, start_date=WEEK - dt.timedelta(weeks=2))  # home support
    assert [summary.week_start for summary in open_earlier_weeks(provider=agency, before=WEEK)] == [
        WEEK - dt.timedelta(weeks=2),
        WEEK - dt.timedelta(weeks=1),
    ]


@pytest.mark.django_db
def test_a_week_already_holding_lines_stays_open_when_nothing_runs_in_it_any_more(week: dt.date) -> None:
    provider = ProviderFactory()
    line = CarePackageLineFactory(provider=provider, start_date=WEEK - dt.timedelta(weeks=1))
    generate(provider, WEEK - dt.timedelta(weeks=1))
    person = line.service_user
    person.deceased_on = WEEK - dt.timedelta(days=10)  # reported since: the line no longer runs that week
    person.save()

    weeks = open_earlier_weeks(provider=provider, before=WEEK)

    assert [(summary.week_start, summary.generated) for summary in weeks] == [
        (WEEK - dt.timedelta(weeks=1), True)
    ]


@pytest.mark.django_db
def test_the_weeks_with_care_are_the_weeks_some_line_runs_in(week: dt.date) -> None:
    """`weeks_with_care_on_actuals` answers, for many weeks at once, what `lines_running_in_week` answers
    for one: a line ending mid-range, a person who died mid-range, a line starting late, a gap between,
    a line ended without a date and care paid on invoice (neither counts)."""
    provider = ProviderFactory()
    weeks = [WEEK - dt.timedelta(weeks=n) for n in range(10, -1, -1)]
    CarePackageLineFactory(provider=provider, start_date=weeks[0], end_date=weeks[1] + dt.timedelta(days=2))
    died = CarePackageLineFactory(provider=provider, start_date=weeks[0], end_date=None)
    died.service_user.deceased_on = weeks[3] + dt.timedelta(days=6)  # on the week's Sunday: it runs
    died.service_user.save()
    CarePackageLineFactory(provider=provider, start_date=weeks[7] + dt.timedelta(days=6), end_date=weeks[8])
    CarePackageLineFactory(
        provider=provider, start_date=weeks[0], end_date=None, status=CarePackageLine.Status.ENDED
    )
    CarePackageLineFactory(provider=provider, start_date=weeks[0], service_type=service_type(AGENCY))
    CarePackageLineFactory(start_date=weeks[5])  # another provider's

    found = weeks_with_care_on_actuals(provider=provider, week_starts=weeks)

    lines = CarePackageLine.objects.filter(provider=provider)
    one_at_a_time = {w for w in weeks if lines_running_in_week(lines, week_start=w).exists()}
    assert found == one_at_a_time == {weeks[0], weeks[1], weeks[2], weeks[3], weeks[7], weeks[8]}


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
