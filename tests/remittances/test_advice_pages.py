"""Remittance advice pages: the list (newest first, every year, filters, pages), one remittance's lines
with the person, what each pays (linked) and the totals, adjustments as such, and scoping: another
provider's remittance is a 404, the council sees every provider's."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from portal.accounts.models import User
from portal.permissions import (
    COUNCIL_ROLE_PERMISSIONS,
    PROVIDER_ROLE_PERMISSIONS,
    VIEW_ALL_REMITTANCES,
    VIEW_OWN_REMITTANCES,
)
from remittances import advice
from remittances.models import RemittanceLine
from tests.conftest import Council
from tests.factories import CarePackageLineFactory
from tests.remittances.advice_fixtures import WEEK, generated_line, remittance

pytestmark = pytest.mark.django_db
D = Decimal


def test_the_provider_roles_that_see_payments_read_remittances_and_finance_reads_everyones() -> None:
    assert VIEW_OWN_REMITTANCES in PROVIDER_ROLE_PERMISSIONS["provider_user"]
    assert VIEW_OWN_REMITTANCES in PROVIDER_ROLE_PERMISSIONS["provider_administrator"]
    assert VIEW_ALL_REMITTANCES in COUNCIL_ROLE_PERMISSIONS[User.CouncilRole.FINANCE_OFFICER]
    assert VIEW_ALL_REMITTANCES not in COUNCIL_ROLE_PERMISSIONS[User.CouncilRole.PORTAL_ADMINISTRATOR]


def test_the_list_is_the_providers_own_newest_first_for_every_year(
    council: Council, provider_a_client
) -> None:
    old = remittance(council.provider_a, paid_on=dt.date(2024, 5, 2), ref="REM-OLD")
    middle = remittance(council.provider_a, paid_on=dt.date(2025, 3, 27), ref="REM-MID")
    new = remittance(council.provider_a, paid_on=dt.date(2026, 12, 3), ref="REM-NEW")
    remittance(council.provider_b, ref="REM-OF-B")

    response = provider_a_client.get(reverse("remittances"))

    assert response.status_code == 200
    listed = [r.ref for r in response.context["page_obj"].object_list]
    assert listed == [new.ref, middle.ref, old.ref]
    assert "REM-OF-B" not in response.content.decode()
    years = [value for value, _label in response.context["form"].fields["year"].choices if value]
    assert years == ["2026", "2025", "2024"]  # April 2024 (the oldest) to March 2027 (the newest)


def test_the_filters_find_a_payment_run_a_financial_year_and_a_day_paid_for(
    council: Council, provider_a_client
) -> None:
    april = remittance(council.provider_a, paid_on=dt.date(2026, 4, 2), run="RUN-2026-14", ref="REM-APR")
    march = remittance(council.provider_a, paid_on=dt.date(2026, 3, 26), run="RUN-2026-13", ref="REM-MAR")
    week = remittance(
        council.provider_a,
        [{"period_start": dt.date(2026, 11, 30), "period_end": dt.date(2026, 12, 6)}],
        paid_on=dt.date(2026, 12, 10),
        ref="REM-WEEK",
    )

    def listed(**query: str) -> list[str]:
        response = provider_a_client.get(reverse("remittances"), query)
        assert response.status_code == 200
        return [r.ref for r in response.context["page_obj"].object_list]

    assert listed(payment_run="run-2026-13") == [march.ref]
    assert listed(payment_run="REM-APR") == [april.ref]
    assert listed(year="2025") == [march.ref]  # April 2025 to March 2026
    assert listed(year="2026") == [week.ref, april.ref]
    assert listed(covering_day="2", covering_month="12", covering_year="2026") == [week.ref]
    assert listed(covering_day="1", covering_month="12", covering_year="2025") == []


def test_the_list_is_paged(council: Council, provider_a_client) -> None:
    for day in range(55):
        remittance(council.provider_a, paid_on=dt.date(2026, 1, 1) + dt.timedelta(days=day))
    first = provider_a_client.get(reverse("remittances"))
    second = provider_a_client.get(reverse("remittances"), {"page": 2})
    assert len(first.context["page_obj"].object_list) == 50
    assert len(second.context["page_obj"].object_list) == 5
    assert first.context["page_obj"].object_list[0].paid_on == dt.date(2026, 2, 24)


def test_a_remittance_shows_each_line_with_its_person_what_it_pays_and_the_totals(
    council: Council, provider_a_client
) -> None:
    line = generated_line(council.provider_a)
    person = line.care_package_line.service_user
    stranger = council.line_b.service_user  # provider B's person: A sees only the reference
    made = remittance(
        council.provider_a,
        [
            {
                "portal_line_id": str(line.pk),
                "version": 1,
                "service_user_ref": person.ref,
                "quantity": line.planned,
                "rate": line.rate,
                "amount": line.amount,
            },
            {
                "kind": RemittanceLine.Kind.ADJUSTMENT,
                "portal_ref": "ADJ-0001",
                "service_user_ref": stranger.ref,
                "description": "Adjustment: short paid in week 47",
                "period_start": None,
                "period_end": None,
                "quantity": D("1"),
                "rate": D("-12.50"),
                "amount": D("-12.50"),
            },
        ],
    )

    response = provider_a_client.get(reverse("remittance", args=[made.ref]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "!!MISSING" not in page
    first, adjustment = response.context["rows"]
    assert (first.person_name, first.person_ref, first.service) == (person.name, person.ref, "Home support")
    assert first.period == "23 Nov to 29 Nov 2026"
    assert (first.quantity, first.rate, first.amount) == (line.planned, line.rate, line.amount)
    assert first.pays == f"Week of 23 Nov 2026: line {line.pk}, version 1"
    week_url = reverse("actuals_week", kwargs={"week": WEEK})
    assert first.pays_url == f"{week_url}?q={line.care_package_line.ref}#line-{line.pk}"
    assert f'href="{first.pays_url}"' in page
    assert (adjustment.is_adjustment, adjustment.person_name, adjustment.person_ref) == (
        True,
        "",
        stranger.ref,
    )
    assert stranger.name not in page
    assert "Payment adjustment" in page
    totals = response.context["totals"]
    assert (totals.lines, totals.services, totals.adjustments, totals.total) == (
        2,
        line.amount,
        D("-12.50"),
        line.amount - D("12.50"),
    )
    assert re.search(r'data-testid="total-total"><strong>£[\d,]+\.\d\d</strong>', page)
    # each line can be queried (a payment dispute), from the provider's side
    assert reverse("remittance_line_dispute", args=[first.pk]) in page


def test_another_providers_remittance_and_its_downloads_are_not_there(
    council: Council, provider_b_client
) -> None:
    made = remittance(council.provider_a)
    for name in ("remittance", "remittance_excel", "remittance_pdf"):
        assert provider_b_client.get(reverse(name, args=[made.ref])).status_code == 404, name
    assert provider_b_client.post(reverse("remittance_pdf_request", args=[made.ref])).status_code == 404


def test_the_council_sees_every_providers_remittances_without_links_into_the_providers_pages(
    council: Council, finance_client, provider_a_client
) -> None:
    line = generated_line(council.provider_a)
    a = remittance(council.provider_a, [{"portal_line_id": str(line.pk), "version": 1}])
    b = remittance(council.provider_b)

    listed = finance_client.get(reverse("council_remittances"))
    assert {r.ref for r in listed.context["page_obj"].object_list} == {a.ref, b.ref}
    filtered = finance_client.get(reverse("council_remittances"), {"provider": council.provider_b.ref})
    assert [r.ref for r in filtered.context["page_obj"].object_list] == [b.ref]
    detail = finance_client.get(reverse("council_remittance", args=[a.ref]))
    assert detail.status_code == 200
    assert detail.context["rows"][0].pays_url is None
    assert council.provider_a.name in detail.content.decode()
    assert provider_a_client.get(reverse("council_remittances")).status_code == 403


def test_a_long_remittance_is_paged_and_its_totals_cover_every_line(
    council: Council, provider_a_client
) -> None:
    made = remittance(council.provider_a, [{"amount": D("1.00")} for _ in range(130)])
    first = provider_a_client.get(reverse("remittance", args=[made.ref]))
    second = provider_a_client.get(reverse("remittance", args=[made.ref]), {"page": 2})
    assert len(first.context["rows"]) == 100
    assert len(second.context["rows"]) == 30
    assert first.context["totals"].total == D("130.00")


def test_people_are_named_only_from_the_providers_own(council: Council) -> None:
    own = CarePackageLineFactory(provider=council.provider_a).service_user
    made = remittance(
        council.provider_a,
        [{"service_user_ref": own.ref}, {"service_user_ref": council.line_b.service_user.ref}],
    )
    rows = advice.advice_rows(
        provider=council.provider_a, lines=list(advice.remittance_lines(made)), links=True
    )
    assert [row.person_name for row in rows] == [own.name, ""]


def test_financial_years_run_from_april_to_march() -> None:
    assert advice.financial_year_of(dt.date(2026, 3, 31)) == 2025
    assert advice.financial_year_of(dt.date(2026, 4, 1)) == 2026
    assert advice.financial_year_bounds(2026) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))


def test_a_provider_never_paid_is_told_what_will_appear_not_that_filters_match_nothing(
    council: Council, provider_a_client, finance_client
) -> None:
    page = provider_a_client.get(reverse("remittances")).content.decode()
    assert "You have not been paid through the portal yet." in page
    assert "match these filters" not in page and "Apply filters" not in page
    assert "No remittances have come" in finance_client.get(reverse("council_remittances")).content.decode()
    remittance(council.provider_a, paid_on=dt.date(2026, 12, 3))
    page = provider_a_client.get(reverse("remittances"), {"payment_run": "NO-SUCH-RUN"}).content.decode()
    assert "No remittances match these filters." in page and "Apply filters" in page


def test_a_year_not_in_the_list_gets_a_plain_message_at_the_top_of_the_page(
    council: Council, provider_a_client
) -> None:
    remittance(council.provider_a, paid_on=dt.date(2026, 12, 3))
    response = provider_a_client.get(reverse("remittances"), {"year": "2019"})
    page = response.content.decode()
    assert response.context["form"].errors["year"] == ["Select a financial year from the list"]
    assert page.index('class="govuk-error-summary"') < page.index("<h1")  # first in the main content
    assert '<a href="#id_year">Select a financial year from the list</a>' in page


def test_wide_tables_scroll_in_their_own_region_on_a_phone(council: Council, provider_a_client) -> None:
    made = remittance(council.provider_a)
    for url in (reverse("remittances"), reverse("remittance", args=[made.ref])):
        page = provider_a_client.get(url).content.decode()
        region = page.index('class="council-table-scroll" role="region"')
        assert region < page.index('<table class="govuk-table govuk-!-font-size-16">'), url
