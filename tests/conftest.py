"""Fixtures shared by the whole suite: two providers with data, and one signed-in client per actor.

Actors (CONVENTIONS.md §9): anonymous, provider_a (provider user), provider_a_admin (provider
administrator), provider_b, manager (acts for A and B), finance (finance officer), portal_admin
(portal administrator). `unverified` and `locked` arrive with issue #4 (the six-digit code).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from portal.accounts.models import Membership, User
from portal.providers.models import CarePackageLine, Provider
from tests.factories import CarePackageLineFactory, MembershipFactory, ProviderFactory, UserFactory


@pytest.fixture(autouse=True)
def _mail_to_files(settings, tmp_path):
    """Every test's email lands in its own folder (the file backend every process writes to)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")


@dataclass
class Council:
    provider_a: Provider
    provider_b: Provider
    line_a: CarePackageLine
    line_b: CarePackageLine
    users: dict[str, User]


@pytest.fixture
def council(db) -> Council:
    provider_a = ProviderFactory(name="Airedale Home Care Ltd")
    provider_b = ProviderFactory(name="Brookside Support Services")
    line_a = CarePackageLineFactory(provider=provider_a, service_user__name="Alice Ashworth")
    line_b = CarePackageLineFactory(provider=provider_b, service_user__name="Bernard Booth")
    users = {
        "provider_a": MembershipFactory(provider=provider_a, user__email="a.user@example.org").user,
        "provider_a_admin": MembershipFactory(
            provider=provider_a,
            role=Membership.Role.PROVIDER_ADMINISTRATOR,
            user__email="a.admin@example.org",
        ).user,
        "provider_b": MembershipFactory(provider=provider_b, user__email="b.user@example.org").user,
        "finance": UserFactory(email="finance@example.org", council_role=User.CouncilRole.FINANCE_OFFICER),
        "portal_admin": UserFactory(
            email="portal.admin@example.org",
            council_role=User.CouncilRole.PORTAL_ADMINISTRATOR,
            is_staff=True,
            is_superuser=True,
        ),
    }
    manager = UserFactory(email="manager@example.org")
    MembershipFactory(user=manager, provider=provider_a)
    MembershipFactory(user=manager, provider=provider_b)
    users["manager"] = manager
    return Council(provider_a, provider_b, line_a, line_b, users)


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def anonymous_client() -> Client:
    return Client()


@pytest.fixture
def provider_a_client(council: Council) -> Client:
    return client_for(council.users["provider_a"])


@pytest.fixture
def provider_a_admin_client(council: Council) -> Client:
    return client_for(council.users["provider_a_admin"])


@pytest.fixture
def provider_b_client(council: Council) -> Client:
    return client_for(council.users["provider_b"])


@pytest.fixture
def manager_client(council: Council) -> Client:
    return client_for(council.users["manager"])


@pytest.fixture
def finance_client(council: Council) -> Client:
    return client_for(council.users["finance"])


@pytest.fixture
def portal_admin_client(council: Council) -> Client:
    return client_for(council.users["portal_admin"])
