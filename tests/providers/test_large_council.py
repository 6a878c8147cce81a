"""The `large` council (200 providers, 12,000 people, 20,000 lines) seeds, and the care package lines
pages for its biggest provider answer, for the provider and for council staff."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.urls import reverse

from portal.accounts.models import User
from portal.providers.models import CarePackageLine, Provider
from tests.conftest import client_for

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_biggest_provider_of_the_large_council_can_use_its_pages() -> None:
    call_command("seed_council", "--scale", "large", "--seed", "7", "--today", "2026-11-24", verbosity=0)
    assert Provider.objects.count() == 200
    assert CarePackageLine.objects.count() == 20_000
    biggest = Provider.objects.annotate(n=Count("care_package_lines")).order_by("-n").first()
    assert biggest is not None and biggest.n >= 2_000

    provider_user = User.objects.get(email="provider.user@demo.example.org")
    assert provider_user.memberships.get().provider == biggest
    client = client_for(provider_user)
    page = client.get(reverse("care_package_lines"))
    assert page.status_code == 200
    assert page.context["page_obj"].paginator.count == biggest.n
    last = client.get(reverse("care_package_lines"), {"sort": "-rate", "page": "last"})
    assert last.status_code == 200 and len(last.context["page_obj"].object_list) > 0

    staff = client_for(User.objects.get(email="finance@demo.example.org"))
    everything = staff.get(
        reverse("council_care_package_lines"), {"provider": biggest.ref, "status": "active"}
    )
    assert everything.status_code == 200
    assert (
        everything.context["page_obj"].paginator.count
        == biggest.care_package_lines.filter(status="active").count()
    )
