"""Query budgets (issue 10): each main page makes at most a stated number of queries, and the same number
whether it shows 5 rows or 50 (60 in the database: a full page of 50 and a second page).

A page whose count grows with its rows has a query per row (an N+1): fix the selector
(select_related / prefetch_related), never the budget. The failure message names the statements that
ran more often with more rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actuals.models import ActualLine
from actuals.services import LineValues, actual_amend, actuals_generate
from portal.accounts.models import Membership, User
from tests.conftest import Council, client_for
from tests.factories import (
    CarePackageLineFactory,
    MembershipFactory,
    ProviderFactory,
    ServiceTypeFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

FEW, MANY = 5, 60
PAGE_SIZE = 50
# What every signed-in page costs before its own queries: the session, the user, the code device
# (django-otp), the memberships in use (ProviderInUseMiddleware), and saving the session
# (SESSION_SAVE_EVERY_REQUEST: a savepoint, the UPDATE, its release).
SIGNED_IN = 7


# Growing the rows a page shows ------------------------------------------------------------------


def _service_type(i: int):
    """Three service types, so a per-row lookup of the type would show."""
    return ServiceTypeFactory(code=f"TYPE_{i % 3}", name=f"Service type {i % 3}")


def add_own_lines(council: Council, n: int) -> None:
    """Lines of provider A, each for a person of its own."""
    for i in range(n):
        CarePackageLineFactory(provider=council.provider_a, service_type=_service_type(i))


def add_lines_of_other_providers(council: Council, n: int) -> None:
    """Lines of providers of their own, for the council's list: a per-row provider lookup would show."""
    for i in range(n):
        CarePackageLineFactory(service_type=_service_type(i))


def add_providers(council: Council, n: int) -> None:
    for _ in range(n):
        provider = ProviderFactory()
        CarePackageLineFactory.create_batch(2, provider=provider)


def add_accounts(council: Council, n: int) -> None:
    """Logins of every kind: provider users of providers of their own, logins of two providers,
    council staff."""
    for i in range(n):
        kind = i % 3
        if kind == 0:
            MembershipFactory(role=Membership.Role.PROVIDER_ADMINISTRATOR)
        elif kind == 1:
            user = MembershipFactory().user
            MembershipFactory(user=user)
        else:
            UserFactory(council_role=User.CouncilRole.FINANCE_OFFICER)


def add_colleagues(council: Council, n: int) -> None:
    """Logins of provider A; some act for another provider too, which the page must not show."""
    for i in range(n):
        membership = MembershipFactory(
            provider=council.provider_a,
            role=Membership.Role.PROVIDER_ADMINISTRATOR if i % 4 == 0 else Membership.Role.PROVIDER_USER,
        )
        if i % 2:
            MembershipFactory(user=membership.user)


WEEK = dt.date(2026, 11, 23)


def add_own_lines_to_the_week(council: Council, n: int) -> None:
    """Lines of provider A generated into WEEK, some amended so that exceptions of both kinds show."""
    add_own_lines(council, n)
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
    for i, line in enumerate(ActualLine.objects.filter(week__week_start=WEEK, amended=False)):
        if i % 3 == 0:  # off the step and no comment (blocking), or frustrated above half (acknowledge)
            delivered, frustrated = (Decimal("1.10"), Decimal("0")) if i % 2 else (Decimal("1"), line.planned)
            values = LineValues(delivered, frustrated, Decimal("0"), Decimal("0"), "", "Hospital" * (i % 2))
            actual_amend(
                provider=line.provider, line_id=line.pk, by=None, values=values, revision=line.revision
            )


# The pages --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    id: str
    actor: str
    url: Callable[[Council], str]
    grow: Callable[[Council, int], None]
    budget: int
    rows_shown: Callable[[Council, int], int] | None = None  # how many rows the page lists after grow(n)


def _listed(existing: int) -> Callable[[Council, int], int]:
    return lambda council, added: min(existing + added, PAGE_SIZE)


PAGES = [
    Page(
        "home, provider user",
        "provider_a",
        lambda c: reverse("home"),
        add_own_lines,
        budget=SIGNED_IN + 5,  # closure days, the week due, earlier weeks (closure days once more each)
    ),
    Page(
        "home, council staff",
        "finance",
        lambda c: reverse("home"),
        add_lines_of_other_providers,
        budget=SIGNED_IN,
    ),
    Page(
        "care package lines",
        "provider_a",
        lambda c: reverse("care_package_lines"),
        add_own_lines,
        budget=SIGNED_IN + 3,  # the count, the filter's service types, the page of lines
        rows_shown=_listed(1),
    ),
    Page(
        "home, provider user, week generated",
        "provider_a",
        lambda c: reverse("home"),
        add_own_lines_to_the_week,
        budget=SIGNED_IN + 5,  # as above: an earlier week that is open is listed without its counts
    ),
    Page(
        "actuals week",
        "provider_a",
        lambda c: reverse("actuals_week", kwargs={"week": WEEK}),
        add_own_lines_to_the_week,
        # the week, its counts (3), the count and page of lines with their flags, their exceptions,
        # the closure days
        budget=SIGNED_IN + 7,
    ),
    Page(
        "scheduled payments",
        "provider_a",
        lambda c: reverse("scheduled_payments"),
        add_own_lines_to_the_week,
        budget=SIGNED_IN + 10,  # grows with the weeks shown (four queries a generated week), not their lines
    ),
    Page(
        "care package line",
        "provider_a",
        lambda c: reverse("care_package_line", args=[c.line_a.ref]),
        add_own_lines,
        budget=SIGNED_IN + 1,  # the line with its person, service type and provider
    ),
    Page(
        "council care package lines",
        "finance",
        lambda c: reverse("council_care_package_lines"),
        add_lines_of_other_providers,
        budget=SIGNED_IN + 3,  # the count, the filter's service types, the page of lines
        rows_shown=_listed(2),
    ),
    Page(
        "council providers",
        "finance",
        lambda c: reverse("council_providers"),
        add_providers,
        budget=SIGNED_IN + 2,  # the count, the page of providers with their active lines counted
        rows_shown=_listed(2),
    ),
    Page(
        "council provider",
        "finance",
        lambda c: reverse("council_provider", args=[c.provider_a.ref]),
        add_own_lines,
        budget=SIGNED_IN + 1,  # the provider with its active lines counted
    ),
    Page(
        "council accounts, portal administrator",
        "portal_admin",
        lambda c: reverse("council_accounts"),
        add_accounts,
        budget=SIGNED_IN + 3,  # the count, the page of logins, their memberships with providers
        rows_shown=_listed(8),  # the council fixture's eight logins
    ),
    Page(
        "provider users, provider administrator",
        "provider_a_admin",
        lambda c: reverse("provider_users"),
        add_colleagues,
        budget=SIGNED_IN + 3,  # the count, the page of logins, their memberships of this provider
        rows_shown=_listed(5),  # provider A's five logins in the council fixture (the manager included)
    ),
]


def _normalised(sql: str) -> str:
    """A statement with its literals and numbered names (savepoints, cursors) blanked, so the same
    query for another row counts as the same statement."""
    return re.sub(r"'[^']*'|\d+", "?", sql)


def _count(client: Client, url: str) -> tuple[int, list[str], Any]:
    client.get(url)  # the first request of a session may do one-off work (a session write, a cache fill)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, f"{url} answered {response.status_code}"
    return len(queries), [query["sql"] for query in queries.captured_queries], response


def _repeated(few: list[str], many: list[str]) -> str:
    grown = Counter(map(_normalised, many)) - Counter(map(_normalised, few))
    return "\n".join(f"  +{times} × {sql[:300]}" for sql, times in grown.most_common())


@pytest.mark.parametrize("page", PAGES, ids=[page.id for page in PAGES])
def test_the_page_keeps_to_its_query_budget_whatever_the_number_of_rows(page: Page, council: Council) -> None:
    client = client_for(council.users[page.actor])
    url = page.url(council)

    page.grow(council, FEW)
    few, few_sql, few_response = _count(client, url)
    page.grow(council, MANY - FEW)
    many, many_sql, many_response = _count(client, url)

    if page.rows_shown is not None:  # the rows really grew: the test would prove nothing otherwise
        listed = few_response.context["page_obj"].object_list
        assert len(listed) == page.rows_shown(council, FEW)
        listed = many_response.context["page_obj"].object_list
        assert len(listed) == page.rows_shown(council, MANY) == PAGE_SIZE
    assert many == few, (
        f"{page.id}: {few} queries with {FEW} rows, {many} with {MANY}. Repeated per row:\n"
        + _repeated(few_sql, many_sql)
    )
    assert many <= page.budget, f"{page.id}: {many} queries, over its budget of {page.budget}:\n" + "\n".join(
        many_sql
    )
