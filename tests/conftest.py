"""Fixtures shared by the whole suite: two providers with data, and one signed-in client per actor.

Actors (CONVENTIONS.md §9): anonymous, provider_a (provider user), provider_a_admin (provider
administrator), provider_b, manager (acts for A and B), finance (finance officer), portal_admin
(portal administrator), unverified (provider A's user with the password but not yet the code) and
locked (provider A's user, signed in with both, then locked). Every signed-in actor but `unverified`
has given its six-digit code.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal.accounts.models import Membership, User
from portal.accounts.services import user_lock
from portal.providers.models import CarePackageLine, Provider
from tests.factories import CarePackageLineFactory, MembershipFactory, ProviderFactory, UserFactory


@pytest.fixture(autouse=True)
def _mail_to_files(settings, tmp_path):
    """Every test's email lands in its own folder (the file backend every process writes to)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")


@pytest.fixture(autouse=True)
def _cache_cleared() -> None:
    """Every test starts with an empty cache: figures cached under a generation (portal.cached) name rows
    by their ids, which the next test (or the next run, on a new database) reuses for other rows."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def email_tasks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The emails whose send task this process has queued (on commit, or by the sweep), in order, kept
    here instead of reaching a broker no worker reads: `mailbox` runs them. Tests with real workers
    publish them instead (tests/workers.py, `publishing_to`)."""
    from portal.mail.tasks import email_send

    queued: list[int] = []
    monkeypatch.setattr(email_send, "delay", queued.append)
    return queued


def read_mailbox(folder: str | Path) -> list[EmailMessage]:
    messages = []
    for file in sorted(Path(folder).glob("*.log"), key=lambda f: (f.stat().st_mtime_ns, f.name)):
        for chunk in file.read_bytes().split(b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.strip(), policy=email.policy.default))
    return messages


@pytest.fixture
def mailbox(settings, email_tasks: list[int]) -> Callable[[], list[EmailMessage]]:
    """A reader of the email sent so far in this test, from the files every process writes. No worker runs
    here, so it first runs the send task of each email queued since (the worker's own code, in this
    process): an email whose transaction has not committed, or rolled back, is never read."""
    from portal.mail.tasks import email_send

    def read() -> list[EmailMessage]:
        while email_tasks:
            email_send(email_tasks.pop(0))
        return read_mailbox(settings.EMAIL_FILE_PATH)

    return read


def email_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


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
    users["unverified"] = MembershipFactory(provider=provider_a, user__email="a.unverified@example.org").user
    users["locked"] = MembershipFactory(provider=provider_a, user__email="a.locked@example.org").user
    manager = UserFactory(email="manager@example.org")
    MembershipFactory(user=manager, provider=provider_a)
    MembershipFactory(user=manager, provider=provider_b)
    users["manager"] = manager
    return Council(provider_a, provider_b, line_a, line_b, users)


def enrol(user: User) -> TOTPDevice:
    """The user's confirmed authenticator device (created if missing)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    """The code the user's authenticator app shows now."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{code:0{device.digits}d}"


def client_for(user: User | None, *, verified: bool = True) -> Client:
    """A client signed in as `user`: with the password, and with the code unless `verified` is False."""
    client = Client()
    if user is not None:
        device = enrol(user)
        client.force_login(user)
        if verified:
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = device.persistent_id
            session.save()
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


@pytest.fixture
def unverified_client(council: Council) -> Client:
    return client_for(council.users["unverified"], verified=False)


@pytest.fixture
def locked_client(council: Council) -> Client:
    client = client_for(council.users["locked"])
    user_lock(user=council.users["locked"], by=council.users["portal_admin"], reason="Testing")
    return client
