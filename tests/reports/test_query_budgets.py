"""Query budgets of the reports' pages and the dashboards (as tests/portal/test_query_budgets.py): each
makes at most its stated number of queries, the same with 5 providers (or people) of data as with 60."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse

from actuals.models import ActualLine
from disputes.models import Team, Thread
from portal.providers.models import CarePackageLine, Provider, ServiceType
from remittances.models import Remittance, RemittanceLine
from tests.conftest import client_for
from tests.factories import CarePackageLineFactory, ProviderFactory
from tests.portal.test_query_budgets import FEW, MANY, SIGNED_IN, _count, _repeated
from tests.reports.conftest import W1, W3, SmallCouncil, _exception, _line, _week, at

pytestmark = pytest.mark.django_db
D = Decimal
Status = ActualLine.Status


def _data_for(provider: Provider, cpl: CarePackageLine, i: int, by) -> None:  # type: ignore[no-untyped-def]
    """Three weeks of a line (on time, late, in progress), an exception, a thread and a remittance."""
    weeks = [
        _week(provider, W1, confirmed=at(dt.date(2026, 11, 9))),
        _week(provider, W1 + dt.timedelta(weeks=1), confirmed=at(dt.date(2026, 11, 18)), late=True),
        _week(provider, W3),
    ] if not provider.weeks.exists() else list(provider.weeks.order_by("week_start"))  # fmt: skip
    statuses = [Status.ACCEPTED, Status.HELD, Status.DRAFT]
    for week, status in zip(weeks, statuses, strict=True):
        line = _line(week, cpl, delivered=str(cpl.planned_per_week - 1), status=status, amount="10.00")
        _exception(line, "ACT-13" if i % 2 else "ACT-04")
    Thread.objects.create(
        provider=provider, kind=Thread.Kind.QUERY, query_type=Thread.QueryType.PAYMENT_QUERY,
        subject=f"Query {i}", team=Team.objects.get_or_create(code="payments", defaults={"name": "Payments"})[0], due_on=dt.date(2026, 11, 20 + i % 10),
        raised_by=by, raised_at=at(dt.date(2026, 11, 1 + i % 20)), raised_by_council=False,
        last_message_at=at(dt.date(2026, 11, 1 + i % 20)),
    )  # fmt: skip
    remittance = Remittance.objects.create(
        ref=f"RB-{cpl.pk}", provider=provider, payment_run_ref="RUN", paid_on=dt.date(2026, 11, 1 + i % 20),
        total=D("10.00"), received_at=at(dt.date(2026, 11, 21)),
    )  # fmt: skip
    RemittanceLine.objects.create(
        remittance=remittance, source_ref=f"S-{remittance.pk}", kind="actual_line", quantity=D("1"),
        rate=D("10.00"), amount=D("10.00"),
    )  # fmt: skip


def add_providers(small: SmallCouncil, n: int) -> None:
    """Providers of their own, each with a line of one of two service types and its data."""
    home, day = ServiceType.objects.get(code="HOME_SUPPORT"), ServiceType.objects.get(code="DAY_CARE")
    for i in range(n):
        provider = ProviderFactory()
        cpl = CarePackageLineFactory(
            provider=provider, service_type=home if i % 2 else day, start_date=W1, planned_per_week=D("5")
        )
        _data_for(provider, cpl, i, small.council.users["finance"])


def add_people(small: SmallCouncil, n: int) -> None:
    """People of provider A, each with a line and its data (and their weeks shared)."""
    home = ServiceType.objects.get(code="HOME_SUPPORT")
    for i in range(n):
        cpl = CarePackageLineFactory(
            provider=small.a, service_type=home, start_date=W1, planned_per_week=D("5")
        )
        _data_for(small.a, cpl, i, small.council.users["provider_a"])


@dataclass(frozen=True)
class Page:
    id: str
    actor: str
    url: Callable[[SmallCouncil], str]
    grow: Callable[[SmallCouncil, int], None]
    budget: int


WEEKS = f"?from_week={W1}&to_week={W3}"
PAGES = [
    # the filter form's providers; the closure days; every provider week in one UNION
    Page(
        "compliance",
        "finance",
        lambda s: reverse("council_report_compliance") + WEEKS,
        add_providers,
        SIGNED_IN + 3,
    ),
    # the providers; by rule and outcome; by provider and outcome
    Page(
        "exceptions",
        "finance",
        lambda s: reverse("council_report_exceptions") + WEEKS,
        add_providers,
        SIGNED_IN + 3,
    ),
    # the filter's providers and service types; the figures grouped on the ids, then those providers' and
    # service types' names (by service type is rolled up from the same rows)
    Page(
        "variance",
        "finance",
        lambda s: reverse("council_report_variance") + WEEKS,
        add_providers,
        SIGNED_IN + 5,
    ),
    # the providers; lines by period; the closure days and provider weeks; lines by provider; the providers
    # with weeks to confirm and no lines
    Page("charging", "finance", lambda s: reverse("council_report_charging"), add_providers, SIGNED_IN + 6),
    # the teams, the providers; by team; by type; the open threads
    Page("ageing", "finance", lambda s: reverse("council_report_ageing"), add_providers, SIGNED_IN + 5),
    # the providers; by provider; by month; by month and kind
    Page("payments", "finance", lambda s: reverse("council_report_payments"), add_providers, SIGNED_IN + 4),
    Page("council reports", "finance", lambda s: reverse("council_reports"), add_providers, SIGNED_IN + 1),
    # the dashboard: the closure days, the week's providers, the review queue, the open threads
    Page("home, finance dashboard", "finance", lambda s: reverse("home"), add_providers, SIGNED_IN + 4),
    # the service types; the figures
    Page(
        "actuals against plan",
        "provider_a",
        lambda s: reverse("report_actuals") + WEEKS,
        add_people,
        SIGNED_IN + 2,
    ),
    Page(
        "actuals against plan, by person",
        "provider_a",
        lambda s: reverse("report_actuals") + WEEKS + "&group=person",
        add_people,
        SIGNED_IN + 2,
    ),
    # the closure days, the weeks open (two), the confirmed weeks with supplementary drafts, their counts
    # (two), the drafts, the rejected lines
    Page("weeks outstanding", "provider_a", lambda s: reverse("report_weeks"), add_people, SIGNED_IN + 8),
    # by month (two), the remittances
    Page("provider payments", "provider_a", lambda s: reverse("report_payments"), add_people, SIGNED_IN + 3),
    # by type, the open threads, the resolved
    Page("provider threads", "provider_a", lambda s: reverse("report_threads"), add_people, SIGNED_IN + 3),
    Page("provider reports", "provider_a", lambda s: reverse("reports"), add_people, SIGNED_IN + 1),
]


@pytest.mark.parametrize("page", PAGES, ids=[page.id for page in PAGES])
def test_the_report_page_keeps_to_its_query_budget(page: Page, small: SmallCouncil) -> None:
    client = client_for(small.council.users[page.actor])
    url = page.url(small)
    page.grow(small, FEW)
    few, few_sql, _ = _count(client, url)
    page.grow(small, MANY - FEW)
    many, many_sql, _ = _count(client, url)
    assert many == few, f"{page.id}: {few} queries with {FEW}, {many} with {MANY}:\n" + _repeated(
        few_sql, many_sql
    )
    assert many <= page.budget, f"{page.id}: {many} queries, over its budget of {page.budget}:\n" + "\n".join(
        many_sql
    )
