"""The home pages' dashboards: the finance officer's (this week's compliance: the week whose deadline is
this week; the review queue; disputes and queries against their due dates) and the provider's small
panel (what it was paid, month by month).
Each chart is an SVG picture of the table beside it (reports/charts.py); a few queries, whatever the data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from actuals import calendar
from portal import cached, clock, permissions
from portal.formatting import money
from remittances.models import remittances_of
from reports import charts, periods, selectors
from reports.tables import share

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.providers.models import Provider

COMPLIANCE_COLOURS = {
    selectors.ON_TIME: charts.GREEN,
    selectors.LATE: charts.ORANGE,
    selectors.MISSING: charts.RED,
    selectors.NOT_DUE: charts.GREY,
}
RAG_COLOURS = {"red": charts.RED, "amber": charts.ORANGE, "green": charts.GREEN}


@dataclass(frozen=True)
class Panel:
    """One chart and its table: rows of (label, value as text)."""

    title: str
    chart: str
    rows: list[tuple[str, str]]
    caption: str
    link_url: str = ""
    link_text: str = ""


def finance_dashboard(*, user: User, granted: frozenset[str]) -> dict[str, Any]:
    """The council staff's home page figures, for the permissions the user holds."""
    from django.urls import reverse

    context: dict[str, Any] = {}
    if permissions.VIEW_REPORTS in granted:
        closed = calendar.closure_days()
        # The week chased this week: last week, due on this week's Tuesday (Monday and Tuesday, the week
        # due; from Tuesday evening on, how it ended), rather than the week in progress, not due yet.
        week = calendar.week_start_of(clock.today()) - dt.timedelta(days=7)
        counts = selectors.week_compliance(user=user, week_start=week, closed=closed)
        bars = [
            charts.Bar(label, counts[state], f"{counts[state]:,}", COMPLIANCE_COLOURS[state])
            for state, label in selectors.COMPLIANCE_STATES
        ]
        on_time = share(counts[selectors.ON_TIME], counts["expected"] - counts[selectors.NOT_DUE])
        context["compliance"] = Panel(
            f"This week’s compliance: {calendar.week_label(week).lower()}",
            charts.bar_chart(bars, testid="compliance-chart"),
            [(bar.label, bar.text) for bar in bars] + [("Expected", f"{counts['expected']:,}")],
            f"Providers expected to confirm the {calendar.week_label(week).lower()}, by state",
            f"{reverse('council_report_compliance')}?from_week={week}&to_week={week}",
            "Submission compliance report",
        )
        context["compliance_on_time"] = on_time
        context["compliance_deadline"] = calendar.week_deadline(week, closed)
        ages = selectors.open_threads_by_rag(user=user)
        rag_bars = [
            charts.Bar(label, ages[key], f"{ages[key]:,}", RAG_COLOURS[key])
            for key, label in selectors.RAG_LABELS
        ]
        context["ageing"] = Panel(
            "Disputes and queries open",
            charts.bar_chart(rag_bars, testid="ageing-chart"),
            [(bar.label, bar.text) for bar in rag_bars] + [("All open", f"{ages['open']:,}")],
            "Open disputes and queries against their due dates",
            reverse("council_report_ageing"),
            "Dispute and query ageing report",
        )
        context["reports_url"] = reverse("council_reports")
    if permissions.REVIEW_EXCEPTIONS in granted:
        context["held_lines"] = selectors.held_lines_count(user=user)
    return context


def provider_dashboard(*, provider: Provider) -> Panel:
    """The provider's home page panel: what it was paid in each of the last six months."""
    from django.urls import reverse

    paid = cached.figure(
        f"paid-by-month:{clock.today():%Y-%m}:{provider.pk}",
        depends_on=[remittances_of(provider)],
        compute=lambda: selectors.provider_paid_by_month(provider=provider),
    )
    bars = [charts.Bar(periods.month_label(month), amount, money(amount)) for month, amount in paid]
    return Panel(
        "Paid in the last six months",
        charts.bar_chart(bars, testid="paid-chart"),
        [(bar.label, bar.text) for bar in bars],
        "What remittances paid you, by month",
        reverse("report_payments"),
        "Payments and remittances report",
    )
