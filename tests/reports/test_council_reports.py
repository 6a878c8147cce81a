"""The finance reports' figures against the small council computed by hand (tests/reports/conftest.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from actuals.models import ActualLine
from actuals.services import line_amount
from disputes.models import Team
from reports import periods, selectors
from tests.reports.conftest import W1, W2, W3, W4, SmallCouncil

pytestmark = pytest.mark.django_db
D = Decimal


def _finance(small: SmallCouncil):
    return small.council.users["finance"]


def test_the_small_councils_amounts_are_what_the_portal_computes(small: SmallCouncil) -> None:
    """The hand-computed amounts of the fixture are the portal's own (what is paid, rounded once)."""
    for key, line in small.lines.items():
        line = ActualLine.objects.with_related().get(pk=line.pk)
        assert line_amount(line) == line.amount, key


def test_compliance_by_week_and_by_provider(small: SmallCouncil) -> None:
    report = selectors.compliance_report(user=_finance(small), first=W1, last=W4)
    by_week = report.table("by_week")
    # week, expected, on time, late, missing, not due, on time of those due (the deadline column aside)
    assert [[row[0], *row[2:]] for row in by_week.rows] == [
        [W4, 3, 0, 0, 0, 3, None],
        [W3, 3, 0, 1, 2, 0, D("0")],
        [W2, 3, 1, 1, 1, 0, D("0.3333")],
        [W1, 3, 2, 0, 1, 0, D("0.6667")],
    ]
    assert by_week.totals == ["All weeks", None, 12, 3, 2, 4, 3, D("0.3333")]
    by_provider = report.table("by_provider")
    assert [[row[0], *row[2:]] for row in by_provider.rows] == [
        ["Dales Home Care", 4, 0, 0, 3, 1, D("0")],
        ["Airedale Home Care Ltd", 4, 1, 1, 1, 1, D("0.3333")],
        ["Brookside Support Services", 4, 2, 1, 0, 1, D("0.6667")],
    ]
    detail = report.table("detail")
    assert detail.detail and len(detail.rows) == 12
    assert ["Airedale Home Care Ltd", W3, "Missing", "In progress"] in [
        [r[0], r[2], r[3], r[4]] for r in detail.rows
    ]
    assert ["Dales Home Care", W1, "Missing", "Not started"] in [
        [r[0], r[2], r[3], r[4]] for r in detail.rows
    ]


def test_compliance_for_one_provider_and_for_someone_not_staff(small: SmallCouncil) -> None:
    report = selectors.compliance_report(user=_finance(small), first=W1, last=W2, provider=small.b)
    assert [row[2:] for row in report.table("by_week").rows] == [
        [1, 1, 0, 0, 0, D("1")],
        [1, 1, 0, 0, 0, D("1")],
    ]
    outsider = selectors.compliance_report(user=small.council.users["provider_a"], first=W1, last=W4)
    assert all(not table.rows for table in outsider.tables)


def test_exceptions_by_rule_and_outcome(small: SmallCouncil) -> None:
    report = selectors.exceptions_report(user=_finance(small), first=W1, last=W3)
    by_rule = report.table("by_rule")
    # rule, severity, exceptions, then: not confirmed, waiting, approved, disputed open, upheld, adjusted,
    # withdrawn, sent without review
    assert [[row[0], row[2], *row[3:]] for row in by_rule.rows] == [
        ["ACT-04", "Must be fixed", 1, 1, 0, 0, 0, 0, 0, 0, 0],
        ["ACT-13", "Needs a reason", 5, 0, 1, 1, 1, 0, 1, 0, 1],
    ]
    assert by_rule.totals == ["All rules", None, None, 6, 1, 1, 1, 1, 0, 1, 0, 1]
    assert [row[0:1] + row[2:] for row in report.table("by_provider").rows] == [
        ["Airedale Home Care Ltd", 4, 1, 1, 1, 1],
        ["Brookside Support Services", 2, 0, 0, 1, 0],
    ]


def test_exceptions_filtered_by_week_and_severity(small: SmallCouncil) -> None:
    report = selectors.exceptions_report(user=_finance(small), first=W3, last=W3, severity="acknowledge")
    assert [[row[0], row[3]] for row in report.table("by_rule").rows] == [["ACT-13", 1]]  # Bernard's W3


def test_variance_by_provider_and_service_type(small: SmallCouncil) -> None:
    report = selectors.variance_report(user=_finance(small), first=W1, last=W3)
    rows = report.table("by_provider").rows
    # provider, service type, then lines, planned, delivered, variance, planned £, delivered £, variance £,
    # paid £
    assert [[r[0], r[2], r[3], *r[4:]] for r in rows] == [
        ["Airedale Home Care Ltd", "Day care", "sessions", 2, D("6"), D("5"), D("-1"), D("273.00"), D("227.50"), D("-45.50"), D("273.00")],
        ["Airedale Home Care Ltd", "Home support", "hours", 2, D("20"), D("17.5"), D("-2.5"), D("400.00"), D("350.00"), D("-50.00"), D("370.00")],
        ["Brookside Support Services", "Home support", "hours", 3, D("21"), D("18.25"), D("-2.75"), D("472.50"), D("410.63"), D("-61.87"), D("455.63")],
    ]  # fmt: skip
    assert report.table("by_provider").totals[4:] == [
        7,
        None,
        None,
        None,
        D("1145.50"),
        D("988.13"),
        D("-157.37"),
        D("1098.63"),
    ]
    assert [r for r in report.table("by_service_type").rows] == [
        ["Day care", "sessions", 2, D("6"), D("5"), D("-1"), D("273.00"), D("227.50"), D("-45.50"), D("273.00")],
        ["Home support", "hours", 5, D("41"), D("35.75"), D("-5.25"), D("872.50"), D("760.63"), D("-111.87"), D("825.63")],
    ]  # fmt: skip


def test_variance_with_drafts_and_for_one_service_type(small: SmallCouncil) -> None:
    from portal.providers.models import ServiceType

    home = ServiceType.objects.get(code="HOME_SUPPORT")
    report = selectors.variance_report(
        user=_finance(small), first=W1, last=W3, provider=small.a, service_type=home, include_drafts=True
    )
    assert [r[3:] for r in report.table("by_provider").rows] == [
        ["hours", 3, D("30"), D("27.5"), D("-2.5"), D("600.00"), D("550.00"), D("-50.00"), D("570.00")]
    ]


def test_charging_readiness_by_period(small: SmallCouncil) -> None:
    p8, p9 = periods.charging_period_of(W1), periods.charging_period_of(W3)
    assert (p8.number, p8.start, p8.end) == (8, dt.date(2026, 10, 19), dt.date(2026, 11, 15))
    assert (p9.number, p9.start) == (9, dt.date(2026, 11, 16))
    report = selectors.charging_report(user=_finance(small), first=p8, last=p9)
    # lines, confirmed, accepted, confirmed share, accepted share, rejected, provider weeks not confirmed,
    # delivered £, charging
    assert [r[0:1] + r[3:] for r in report.table("by_period").rows] == [
        ["Period 9", 3, 1, 0, D("0.3333"), D("0"), 1, 5, D("449.00"), "Not ended yet"],
        ["Period 8", 6, 6, 3, D("1"), D("0.5"), 0, 2, D("875.63"), "Not ready"],
    ]
    assert [r[0:1] + r[2:] for r in report.table("by_provider").rows] == [
        ["Dales Home Care", 0, 0, 0, None, None, 0, 4],
        ["Airedale Home Care Ltd", 6, 4, 2, D("0.6667"), D("0.3333"), 0, 2],
        ["Brookside Support Services", 3, 3, 1, D("1"), D("0.3333"), 1, 1],
    ]


def test_a_period_is_ready_once_every_week_is_confirmed_and_every_line_accepted(small: SmallCouncil) -> None:
    p8 = periods.charging_period_of(W1)
    ActualLine.objects.filter(pk__in=[small.lines["alice_w2"].pk, small.lines["arthur_w2"].pk]).update(
        status=ActualLine.Status.ACCEPTED
    )
    report = selectors.charging_report(user=_finance(small), first=p8, last=p8, provider=small.a)
    assert report.table("by_period").rows[0][3:] == [4, 4, 4, D("1"), D("1"), 0, 0, D("577.50"), "Ready"]


def test_dispute_and_query_ageing_by_team_and_type(small: SmallCouncil) -> None:
    report = selectors.ageing_report(user=_finance(small))
    # open, 0-2, 3-7, 8-14, 15-30, over 30, overdue, due soon, on time, oldest (days)
    assert report.table("by_team").rows == [
        ["Brokerage", 1, 0, 0, 0, 0, 1, 1, 0, 0, 36],
        ["Payments", 2, 1, 1, 0, 0, 0, 1, 0, 1, 6],
        ["Portal support", 1, 0, 0, 1, 0, 0, 0, 1, 0, 10],
    ]
    assert report.table("by_team").totals == ["All teams", 4, 1, 1, 1, 0, 1, 2, 1, 1, 36]
    assert [r[0:2] for r in report.table("by_type").rows] == [
        ["Dispute", 1],
        ["Query: payment query", 1],
        ["Query: portal access", 1],
        ["Query: service ended or person died", 1],
    ]
    listing = report.table("open_threads")
    assert listing.detail and [r[0] for r in listing.rows] == [
        small.threads[key].ref
        for key in ("t3", "t1", "t4", "t2")  # by due date
    ]
    assert [r[-2:] for r in listing.rows] == [
        [36, "Overdue"],
        [6, "Overdue"],
        [10, "Due soon"],
        [1, "On time"],
    ]


def test_ageing_for_one_team(small: SmallCouncil) -> None:
    report = selectors.ageing_report(
        user=_finance(small), team=Team.objects.get(code="payments"), kind="query"
    )
    assert report.table("by_team").rows == [["Payments", 1, 1, 0, 0, 0, 0, 0, 0, 1, 1]]


def test_payments_by_month_and_provider(small: SmallCouncil) -> None:
    report = selectors.payments_report(
        user=_finance(small), first=dt.date(2026, 10, 1), last=dt.date(2026, 11, 1)
    )
    # month, remittances, providers paid, actuals, invoices, expense claims, adjustments, total
    assert report.table("by_month").rows == [
        ["November 2026", 3, 3, D("157.50"), D("600.00"), D("0.00"), D("25.00"), D("782.50")],
        ["October 2026", 1, 1, D("316.50"), D("0.00"), D("0.00"), D("0.00"), D("316.50")],
    ]
    assert report.table("by_month").totals == [
        "All months",
        4,
        None,
        D("474.00"),
        D("600.00"),
        D("0.00"),
        D("25.00"),
        D("1099.00"),
    ]
    assert [[r[0], *r[2:]] for r in report.table("by_provider").rows] == [
        ["Calder Fostering", 1, D("600.00")],
        ["Airedale Home Care Ltd", 2, D("341.50")],
        ["Brookside Support Services", 1, D("157.50")],
    ]
    november = selectors.payments_report(
        user=_finance(small), first=dt.date(2026, 11, 1), last=dt.date(2026, 11, 1), provider=small.a
    )
    assert november.table("by_month").rows == [
        ["November 2026", 1, 1, D("0.00"), D("0.00"), D("0.00"), D("25.00"), D("25.00")]
    ]


def test_the_dashboards_small_figures(small: SmallCouncil) -> None:
    finance = _finance(small)
    assert selectors.week_compliance(user=finance, week_start=W4) == {
        "on_time": 0, "late": 0, "missing": 0, "not_due": 3, "expected": 3,
    }  # fmt: skip
    assert selectors.week_compliance(user=finance, week_start=W2)["late"] == 1
    assert selectors.held_lines_count(user=finance) == 1
    assert selectors.open_threads_by_rag(user=finance) == {"open": 4, "red": 2, "amber": 1, "green": 1}
    assert selectors.held_lines_count(user=small.council.users["provider_a"]) == 0
