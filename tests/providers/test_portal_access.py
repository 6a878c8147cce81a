"""Switching a provider's portal access on and off: only portal administrators, always audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.audit.models import AuditEvent
from portal.providers.models import Provider
from portal.providers.services import ProviderError, provider_portal_access_set
from tests.conftest import Council, client_for
from tests.factories import CarePackageLineFactory, MembershipFactory, ProviderFactory

pytestmark = pytest.mark.django_db


def test_switching_access_on_lets_the_providers_users_in_and_is_audited(
    portal_admin_client, council: Council
) -> None:
    provider = ProviderFactory(portal_enabled=False, portal_enabled_at=None)
    line = CarePackageLineFactory(provider=provider)
    user = MembershipFactory(provider=provider).user
    assert client_for(user).get(reverse("care_package_lines")).status_code == 403

    response = portal_admin_client.post(
        reverse("council_provider_portal_access", args=[provider.ref]), {"enabled": "on"}, follow=True
    )
    assert "Portal access for" in response.content.decode()
    provider.refresh_from_db()
    assert provider.portal_enabled and provider.portal_enabled_at is not None
    event = AuditEvent.objects.get(action="providers.provider.portal_access_on")
    assert event.actor == council.users["portal_admin"] and event.object_id == str(provider.pk)
    lines = client_for(user).get(reverse("care_package_lines")).context["page_obj"].object_list
    assert [row.ref for row in lines] == [line.ref]


def test_switching_access_off(portal_admin_client, council: Council) -> None:
    portal_admin_client.post(
        reverse("council_provider_portal_access", args=[council.provider_a.ref]), {"enabled": "off"}
    )
    council.provider_a.refresh_from_db()
    assert not council.provider_a.portal_enabled
    assert AuditEvent.objects.filter(action="providers.provider.portal_access_off").count() == 1
    assert client_for(council.users["provider_a"]).get(reverse("care_package_lines")).status_code == 403


@pytest.mark.parametrize("actor", ["provider_a", "provider_a_admin", "finance"])
def test_nobody_else_can_switch_access(council: Council, actor: str) -> None:
    response = client_for(council.users[actor]).post(
        reverse("council_provider_portal_access", args=[council.provider_a.ref]), {"enabled": "off"}
    )
    assert response.status_code == 403
    council.provider_a.refresh_from_db()
    assert council.provider_a.portal_enabled
    assert not AuditEvent.objects.exists()


def test_an_inactive_provider_cannot_be_switched_on(council: Council) -> None:
    provider = ProviderFactory(active=False, portal_enabled=False, portal_enabled_at=None)
    with pytest.raises(ProviderError):
        provider_portal_access_set(provider=provider, enabled=True, by=council.users["portal_admin"])
    assert not Provider.objects.get(pk=provider.pk).portal_enabled
    assert not AuditEvent.objects.exists()


def test_switching_to_the_state_it_is_in_changes_nothing(council: Council) -> None:
    provider_portal_access_set(provider=council.provider_a, enabled=True, by=council.users["portal_admin"])
    assert not AuditEvent.objects.exists()


def test_the_audit_trail_cannot_be_rewritten(council: Council) -> None:
    provider_portal_access_set(provider=council.provider_a, enabled=False, by=council.users["portal_admin"])
    event = AuditEvent.objects.get()
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
