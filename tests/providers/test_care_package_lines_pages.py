"""The care package lines pages: scoping, search, filters, sorting, paging, and a flat query count."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.providers.models import CarePackageLine
from tests.conftest import Council, client_for
from tests.factories import CarePackageLineFactory, MembershipFactory, ProviderFactory, ServiceTypeFactory

pytestmark = pytest.mark.django_db


def refs_on_page(response) -> list[str]:
    return [line.ref for line in response.context["page_obj"].object_list]


def test_a_provider_sees_only_its_own_lines(provider_a_client, council: Council) -> None:
    response = provider_a_client.get(reverse("care_package_lines"))
    assert response.status_code == 200
    assert refs_on_page(response) == [council.line_a.ref]
    assert council.line_b.ref not in response.content.decode()
    assert "Bernard Booth" not in response.content.decode()


def test_another_providers_line_is_not_found(provider_a_client, council: Council) -> None:
    response = provider_a_client.get(reverse("care_package_line", args=[council.line_b.ref]))
    assert response.status_code == 404
    assert "Bernard Booth" not in response.content.decode()


def test_search_by_name_reference_and_line(provider_a_client, council: Council) -> None:
    other = CarePackageLineFactory(provider=council.provider_a, service_user__name="Dorothy Dixon")
    url = reverse("care_package_lines")
    assert refs_on_page(provider_a_client.get(url, {"q": "dorothy"})) == [other.ref]
    assert refs_on_page(provider_a_client.get(url, {"q": other.service_user.ref})) == [other.ref]
    assert refs_on_page(provider_a_client.get(url, {"q": council.line_a.ref})) == [council.line_a.ref]
    # Searching for another provider's person finds nothing.
    assert refs_on_page(provider_a_client.get(url, {"q": "Bernard"})) == []


def test_filters_by_service_type_and_status(provider_a_client, council: Council) -> None:
    day_care = ServiceTypeFactory(
        code="DAY_CARE", name="Day care", unit="sessions", step=Decimal("1"), paid_on="plan"
    )
    day_line = CarePackageLineFactory(provider=council.provider_a, service_type=day_care)
    ended = CarePackageLineFactory(provider=council.provider_a, status=CarePackageLine.Status.ENDED)
    url = reverse("care_package_lines")
    assert refs_on_page(provider_a_client.get(url, {"service_type": "DAY_CARE"})) == [day_line.ref]
    assert refs_on_page(provider_a_client.get(url, {"status": "ended"})) == [ended.ref]


def test_an_unknown_filter_value_is_shown_as_an_error_and_ignored(
    provider_a_client, council: Council
) -> None:
    response = provider_a_client.get(reverse("care_package_lines"), {"status": "bogus"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "There is a problem" in page
    assert "<title>Error: " in page
    assert "Select a valid choice" in page
    assert refs_on_page(response) == [council.line_a.ref]


def test_sorting_by_rate_both_ways(provider_a_client, council: Council) -> None:
    cheap = CarePackageLineFactory(provider=council.provider_a, rate=Decimal("12.00"))
    dear = CarePackageLineFactory(provider=council.provider_a, rate=Decimal("99.00"))
    url = reverse("care_package_lines")
    ascending = refs_on_page(provider_a_client.get(url, {"sort": "rate"}))
    assert ascending[0] == cheap.ref and ascending[-1] == dear.ref
    descending = refs_on_page(provider_a_client.get(url, {"sort": "-rate"}))
    assert descending[0] == dear.ref and descending[-1] == cheap.ref


def test_pages_of_fifty_keep_the_filters(provider_a_client, council: Council) -> None:
    CarePackageLineFactory.create_batch(60, provider=council.provider_a, status="suspended")
    url = reverse("care_package_lines")
    first = provider_a_client.get(url, {"status": "suspended"})
    assert len(refs_on_page(first)) == 50
    assert "status=suspended&amp;page=2" in first.content.decode()
    second = provider_a_client.get(url, {"status": "suspended", "page": 2})
    assert len(refs_on_page(second)) == 10
    assert not set(refs_on_page(first)) & set(refs_on_page(second))


def test_staff_see_every_provider_and_can_filter_by_provider(finance_client, council: Council) -> None:
    url = reverse("council_care_package_lines")
    assert set(refs_on_page(finance_client.get(url))) == {council.line_a.ref, council.line_b.ref}
    assert refs_on_page(finance_client.get(url, {"provider": council.provider_b.ref})) == [council.line_b.ref]


def test_the_manager_acts_only_for_the_chosen_provider(manager_client, council: Council) -> None:
    url = reverse("care_package_lines")
    assert manager_client.get(url)["Location"].startswith(reverse("provider_switch"))
    response = manager_client.post(
        reverse("provider_switch"), {"provider": council.provider_b.pk, "next": url}
    )
    assert response["Location"] == url
    assert refs_on_page(manager_client.get(url)) == [council.line_b.ref]
    manager_client.post(reverse("provider_switch"), {"provider": council.provider_a.pk})
    page = manager_client.get(url)
    assert refs_on_page(page) == [council.line_a.ref]
    assert "Acting for" in page.content.decode() and council.provider_a.name in page.content.decode()


def test_switching_to_a_provider_the_login_does_not_act_for_is_refused(
    provider_a_client, council: Council
) -> None:
    response = provider_a_client.post(reverse("provider_switch"), {"provider": council.provider_b.pk})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert refs_on_page(provider_a_client.get(reverse("care_package_lines"))) == [council.line_a.ref]


def test_a_provider_whose_access_is_off_cannot_be_acted_for(council: Council) -> None:
    dormant = ProviderFactory(portal_enabled=False)
    CarePackageLineFactory(provider=dormant)
    user = MembershipFactory(provider=dormant).user
    response = client_for(user).get(reverse("care_package_lines"))
    assert response.status_code == 403


@pytest.mark.parametrize("staff", [False, True])
def test_query_count_does_not_grow_with_lines(council: Council, staff: bool) -> None:
    small = ProviderFactory()
    big = ProviderFactory()
    CarePackageLineFactory.create_batch(20, provider=small)
    CarePackageLineFactory.create_batch(200, provider=big)

    def queries_for(provider) -> int:
        user = council.users["finance"] if staff else MembershipFactory(provider=provider).user
        client = client_for(user)
        url = reverse("council_care_package_lines" if staff else "care_package_lines")
        params = {"provider": provider.ref} if staff else {}
        client.get(url, params)  # warm the session
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200
        assert len(response.context["page_obj"].object_list) == (20 if provider is small else 50)
        return len(queries)

    assert queries_for(small) == queries_for(big)
