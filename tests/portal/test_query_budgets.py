"""Query budgets (issue 10): each main page makes at most a stated number of queries, and the same number
whether it shows 5 rows or 50 (60 in the database: a full page of 50 and a second page).

A page whose count grows with its rows has a query per row (an N+1): fix the selector
(select_related / prefetch_related), never the budget. The failure message names the statements that
ran more often with more rows.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
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
# What every signed-in page costs before its own queries: the user, the code device (django-otp), the
# memberships in use (ProviderInUseMiddleware), and the unread messages beside "Messages" in the
# navigation (one count). The session is read from the cache and saved at most once a minute
# (portal.accounts.middleware), so neither costs a query on the request measured.
SIGNED_IN = 4


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


def add_notices(council: Council, n: int) -> None:
    """Notices for every provider, for provider A's service type, or for its kind; one in three read by
    provider A's user and some by others, so per-row read lookups would show."""
    from portal.content.models import NoticeRead
    from portal.content.services import NoticeFields, notice_create

    admin, reader = council.users["portal_admin"], council.users["provider_a"]
    for i in range(n):
        fields = NoticeFields(
            title=f"Notice {i}",
            body=f"Change number **{i}**",
            provider_kind="adult" if i % 3 == 1 else "",
            service_type=council.line_a.service_type if i % 3 == 2 else _service_type(i),
            shown_from=dt.date(2026, 1, 5),
            shown_until=None,
        )
        notice = notice_create(fields=fields, by=admin)
        for user in [reader] * (i % 3 == 0) + [council.users["manager"]] * (i % 2):
            NoticeRead.objects.create(
                notice=notice, user=user, read_at=dt.datetime(2026, 1, 6, tzinfo=dt.UTC)
            )


def add_guidance_pages(council: Council, n: int) -> None:
    """Published guidance pages, general and for three service types, and drafts."""
    from portal.content.models import GuidancePage
    from portal.content.services import GuidanceFields, guidance_page_create

    start = GuidancePage.objects.count()
    for i in range(start, start + n):
        fields = GuidanceFields(
            title=f"Guidance {i}",
            slug="",
            body=f"Do **{i}**",
            service_type=_service_type(i) if i % 4 else None,
            published=i % 5 != 0,
            order=i,
        )
        guidance_page_create(fields=fields, by=council.users["portal_admin"])


def _children_kind(council: Council, kind: str) -> None:
    from portal.providers.models import Provider

    Provider.objects.filter(pk=council.provider_a.pk).update(kind=kind)


def _agency_type():
    return ServiceTypeFactory(
        code="AGENCY", name="Agency placement", unit="weeks", step=Decimal("1"), allows_extras=False,
        paid_on="invoice", tolerance_percent=Decimal("0"),
    )  # fmt: skip


def add_children(council: Council, n: int) -> None:
    """Children placed with provider A (a children's agency), some with two placements."""
    _children_kind(council, "children")
    for i in range(n):
        line = CarePackageLineFactory(provider=council.provider_a, service_type=_agency_type())
        if i % 3 == 0:
            CarePackageLineFactory(
                provider=council.provider_a, service_user=line.service_user, service_type=_service_type(i)
            )


def _invoices(provider_of: Callable[[int], Any], n: int) -> None:
    from portal import clock
    from remittances.models_invoices import Invoice, InvoiceLine

    for i in range(n):
        provider = provider_of(i)
        line = CarePackageLineFactory(provider=provider, service_type=_agency_type())
        invoice = Invoice.objects.create(
            portal_ref=f"INV-{uuid.uuid4().hex[:12]}", provider=provider, service_user=line.service_user,
            care_package_line=line, period_start=dt.date(2026, 3, 1), period_end=dt.date(2026, 3, 31),
            provider_invoice_number=uuid.uuid4().hex[:12], total=Decimal("100.00"),
            submitted_by=MembershipFactory(provider=provider).user, submitted_at=clock.now(),
        )  # fmt: skip
        InvoiceLine.objects.create(
            invoice=invoice, position=1, description="March", quantity=Decimal("1"), rate=Decimal("100.00"),
            amount=Decimal("100.00"),
        )  # fmt: skip


def add_invoices(council: Council, n: int) -> None:
    """Invoices of provider A (a children's agency), each for a child of its own."""
    _children_kind(council, "children")
    _invoices(lambda i: council.provider_a, n)


def add_invoices_of_other_providers(council: Council, n: int) -> None:
    _invoices(lambda i: ProviderFactory(kind="children"), n)


def _claims(provider_of: Callable[[int], Any], n: int) -> None:
    from portal import clock
    from remittances.models_invoices import ExpenseClaim

    for i in range(n):
        provider = provider_of(i)
        child = CarePackageLineFactory(provider=provider).service_user if i % 2 else None
        ExpenseClaim.objects.create(
            portal_ref=f"EXP-{uuid.uuid4().hex[:12]}", provider=provider, service_user=child,
            category="mileage", incurred_on=dt.date(2026, 3, 1), amount=Decimal("10.00"), description="Miles",
            submitted_by=MembershipFactory(provider=provider).user, submitted_at=clock.now(),
        )  # fmt: skip


def add_expense_claims(council: Council, n: int) -> None:
    """Expense claims of provider A (a foster carer), every other one about a child."""
    _children_kind(council, "foster_carer")
    _claims(lambda i: council.provider_a, n)


def add_expense_claims_of_other_providers(council: Council, n: int) -> None:
    _claims(lambda i: ProviderFactory(kind="foster_carer"), n)


def add_remittances(council: Council, n: int) -> None:
    """Remittances of provider A (three lines each, one an adjustment) and as many of provider B's."""
    from tests.remittances.advice_fixtures import remittance

    for i in range(n):
        for provider in (council.provider_a, council.provider_b):
            remittance(
                provider,
                [
                    {},
                    {},
                    {
                        "kind": "adjustment",
                        "amount": Decimal("-1.00"),
                        "period_start": None,
                        "period_end": None,
                    },
                ],
                paid_on=dt.date(2026, 12, 3) - dt.timedelta(days=7 * i),
            )


def _remittance_of_a(council: Council) -> str:
    """Provider A's remittance the detail page shows (made when the URL is first asked for)."""
    from remittances.models import Remittance
    from tests.remittances.advice_fixtures import remittance

    found = Remittance.objects.filter(ref="REM-BUDGET").first()
    return (found or remittance(council.provider_a, [], ref="REM-BUDGET")).ref


def add_remittance_lines(council: Council, n: int) -> None:
    """Lines on REM-BUDGET, each for a person of A's with an actual line of its own (a link each), and
    adjustments among them."""
    from remittances.models import Remittance, RemittanceLine

    add_own_lines(council, n)
    actuals_generate(provider=council.provider_a, week_start=WEEK, by=None)
    made = Remittance.objects.get(ref="REM-BUDGET")
    have = set(made.lines.values_list("portal_line_id", flat=True))
    for i, line in enumerate(
        ActualLine.objects.filter(provider=council.provider_a).select_related(
            "care_package_line__service_user"
        )
    ):
        if str(line.pk) in have:
            continue
        adjustment = i % 5 == 0
        RemittanceLine.objects.create(
            remittance=made,
            source_ref=f"SRC-{line.pk}",
            kind="adjustment" if adjustment else "actual_line",
            portal_ref=f"ADJ-{line.pk}" if adjustment else "",
            portal_line_id=str(line.pk),
            version=1,
            service_user_ref=line.care_package_line.service_user.ref,
            quantity=line.planned,
            rate=line.rate,
            amount=line.amount,
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
        # the closure days (once), the week due, whether care paid through actuals runs in it, the earlier
        # weeks, and which of those never started have such care; the notices not dismissed; what the
        # provider was paid by month (the reports panel)
        budget=SIGNED_IN + 7,
    ),
    Page(
        "home, council staff",
        "finance",
        lambda c: reverse("home"),
        add_lines_of_other_providers,
        # the dashboard (reports): the closure days, the week due's expected providers with their weeks
        # (one statement), the review queue's count, the open threads by due status
        budget=SIGNED_IN + 4,
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
        budget=SIGNED_IN + 7,  # as above: an earlier week that is open is listed without its counts
    ),
    Page(
        "actuals week",
        "provider_a",
        lambda c: reverse("actuals_week", kwargs={"week": WEEK}),
        add_own_lines_to_the_week,
        # the week, its counts (one statement), the page of lines (the count is the week's), their
        # exceptions
        budget=SIGNED_IN + 4,
    ),
    Page(
        "scheduled payments",
        "provider_a",
        lambda c: reverse("scheduled_payments"),
        add_own_lines_to_the_week,
        # the closure days, the earlier weeks open (and which have care paid through actuals), the recent
        # weeks, whether the week due has such care, then every week shown and their counts in two, and
        # the next payment run (the copied schedule, and the weeks of its lines): whatever the number of
        # weeks or lines
        budget=SIGNED_IN + 9,
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
    Page(
        "home, provider user, notices",
        "provider_a",
        lambda c: reverse("home"),
        add_notices,
        budget=SIGNED_IN + 7,  # as "home, provider user": the notices are one query however many
    ),
    Page(
        "notices, provider user",
        "provider_a",
        lambda c: reverse("notices"),
        add_notices,
        budget=SIGNED_IN + 1,  # the notices, each with whether the user has read it
    ),
    Page(
        "guidance, provider user",
        "provider_a",
        lambda c: reverse("guidance"),
        add_guidance_pages,
        budget=SIGNED_IN + 1,  # the published pages with their service types
    ),
    Page(
        "council notices, portal administrator",
        "portal_admin",
        lambda c: reverse("council_notices"),
        add_notices,
        budget=SIGNED_IN + 2,  # the count, the page of notices with their service types and read counts
        rows_shown=_listed(0),
    ),
    Page(
        "council guidance pages, portal administrator",
        "portal_admin",
        lambda c: reverse("council_guidance"),
        add_guidance_pages,
        budget=SIGNED_IN + 2,  # the count, the page of pages with their service types and editors
        rows_shown=_listed(0),
    ),
    Page(
        "children, children's agency",
        "provider_a",
        lambda c: reverse("children"),
        add_children,
        budget=SIGNED_IN + 3,  # the count, the page of children, their placements with their service types
        rows_shown=_listed(1),  # provider A's person of the council fixture
    ),
    Page(
        "invoices, children's agency",
        "provider_a",
        lambda c: reverse("invoices"),
        add_invoices,
        budget=SIGNED_IN + 3,  # the user's drafts, the count, the page of invoices with child and placement
        rows_shown=_listed(0),
    ),
    Page(
        "expense claims, foster carer",
        "provider_a",
        lambda c: reverse("expense_claims"),
        add_expense_claims,
        budget=SIGNED_IN + 2,  # the count, the page of claims with their children
        rows_shown=_listed(0),
    ),
    Page(
        "council invoices",
        "finance",
        lambda c: reverse("council_invoices"),
        add_invoices_of_other_providers,
        budget=SIGNED_IN + 2,  # the count, the page of invoices with provider, child and placement
        rows_shown=_listed(0),
    ),
    Page(
        "council expense claims",
        "finance",
        lambda c: reverse("council_expense_claims"),
        add_expense_claims_of_other_providers,
        budget=SIGNED_IN + 2,  # the count, the page of claims with provider and child
        rows_shown=_listed(0),
    ),
    Page(
        "remittances",
        "provider_a",
        lambda c: reverse("remittances"),
        add_remittances,
        budget=SIGNED_IN + 3,  # the financial years of the history, the count, the page with its summaries
        rows_shown=_listed(0),
    ),
    Page(
        "council remittances",
        "finance",
        lambda c: reverse("council_remittances"),
        add_remittances,
        budget=SIGNED_IN + 3,  # the same, every provider's, with the provider
        rows_shown=lambda council, added: min(2 * added, PAGE_SIZE),  # A's and B's
    ),
    Page(
        "remittance",
        "provider_a",
        lambda c: reverse("remittance", args=[_remittance_of_a(c)]),
        add_remittance_lines,
        # the remittance, its totals, the page of lines, the people named, the actual lines they pay, the
        # payment adjustments among them
        budget=SIGNED_IN + 6,
    ),
]


# The council's pages about one provider's actuals (issue #7: the finance officer's disputes) ------------


def add_weeks_of_provider_a(council: Council, n: int) -> None:
    """Weeks of provider A's, each with a line, every other one confirmed by a login of its own (a
    per-row lookup of who confirmed it would show)."""
    from actuals.models import ProviderWeek
    from portal import clock

    start = ProviderWeek.objects.filter(provider=council.provider_a).count()
    for i in range(start, start + n):
        week_start = WEEK - dt.timedelta(weeks=i + 1)
        confirmed = i % 2 == 0
        week = ProviderWeek.objects.create(
            provider=council.provider_a, week_start=week_start, deadline=clock.now(), generated_at=clock.now(),
            state="confirmed" if confirmed else "in_progress", confirmed_at=clock.now() if confirmed else None,
            confirmed_by=MembershipFactory(provider=council.provider_a).user if confirmed else None,
        )  # fmt: skip
        ActualLine.objects.create(
            provider=council.provider_a, week=week, care_package_line=council.line_a, care_package_line_version=1,
            planned=Decimal("1"), delivered=Decimal("1"), rate=Decimal("10.00"), amount=Decimal("10.00"),
        )  # fmt: skip


def add_own_lines_to_the_week_with_threads(council: Council, n: int) -> None:
    """Lines of provider A in WEEK (some with exceptions, as the provider's week page), one in three in a
    query of its own: the threads of a page's lines are one query."""
    from disputes.services import query_raise

    before = set(ActualLine.objects.filter(week__week_start=WEEK).values_list("pk", flat=True))
    add_own_lines_to_the_week(council, n)
    new = ActualLine.objects.filter(week__week_start=WEEK).exclude(pk__in=before).order_by("pk")
    for i, line in enumerate(new):
        if i % 3 == 0:
            query_raise(
                provider=council.provider_a, by=council.users["provider_a"], query_type="payment_query",
                subject=f"Line {line.pk}", body="Short", line=line,
            )  # fmt: skip


PAGES.extend(
    [
        Page(
            "council provider weeks",
            "finance",
            lambda c: reverse("council_provider_weeks", args=[c.provider_a.ref]),
            add_weeks_of_provider_a,
            budget=SIGNED_IN + 3,  # the provider, the count, the page of weeks with their lines counted
            rows_shown=_listed(0),
        ),
        Page(
            "council provider week",
            "finance",
            lambda c: reverse("council_provider_week", args=[c.provider_a.ref, WEEK]),
            add_own_lines_to_the_week_with_threads,
            # the provider, the week, the lines "the whole week" covers, the count, the page of lines with
            # their people and service types, their exceptions, their threads, the week's own threads
            budget=SIGNED_IN + 8,
            rows_shown=_listed(1),  # provider A's line of the council fixture
        ),
    ]
)


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
