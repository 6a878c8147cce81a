"""The account lifecycle through the web: invitations, the six-digit code, backup codes, the emailed
fallback, the lost-code reset, locks, unlocks, leavers and the 90-day inactivity lock."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import clock
from portal.accounts import services
from portal.accounts.models import BackupCodeDevice, Membership, User
from portal.audit.models import AuditEvent
from tests.conftest import Council, client_for, current_code, email_body, enrol
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-long-password-7"


def link_in(body: str, path_start: str) -> str:
    match = re.search(rf"https?://[^/\s]+({re.escape(path_start)}[^\s]+)", body)
    assert match, body
    return match.group(1)


def sign_in_with_password(client: Client, email: str, password: str = TEST_PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def audit_actions(user: User) -> list[str]:
    return list(AuditEvent.objects.for_object(user).order_by("at", "pk").values_list("action", flat=True))


# Invitations ---------------------------------------------------------------------------------------


def invite(council: Council, captured, **overrides) -> str:
    with captured(execute=True):
        services.user_invite(
            email=overrides.get("email", "new.colleague@example.org"),
            full_name="New Colleague",
            by=council.users["provider_a_admin"],
            provider=council.provider_a,
            provider_role=Membership.Role.PROVIDER_USER,
        )
    return overrides.get("email", "new.colleague@example.org")


def test_an_invitation_link_sets_the_password_once_then_enrolment_follows(
    council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    invite(council, django_capture_on_commit_callbacks)
    [message] = mailbox()
    assert message["To"] == "new.colleague@example.org"
    assert council.provider_a.name in message["Subject"]
    link = link_in(email_body(message), "/accounts/invitation/")

    client = Client()
    form = client.get(link)
    assert form.status_code == 200 and "Create your password" in form.content.decode()
    short = client.post(link, {"password1": "short", "password2": "short"})
    assert "Error: " in short.content.decode() and "at least 12 characters" in short.content.decode()
    response = client.post(link, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response["Location"] == reverse("code_enrol")
    user = User.objects.get(email="new.colleague@example.org")
    assert user.check_password(NEW_PASSWORD)

    again = Client().get(link)
    assert again.status_code == 400 and "already been used" in again.content.decode()
    assert Client().post(link, {"password1": "x" * 20, "password2": "x" * 20}).status_code == 400
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert audit_actions(user) == ["accounts.user.invited", "accounts.user.invitation_accepted"]


def test_an_expired_or_tampered_or_replaced_invitation_is_refused(
    council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    invite(council, django_capture_on_commit_callbacks)
    first = link_in(email_body(mailbox()[0]), "/accounts/invitation/")
    assert "not valid" in Client().get(first[:-3] + "xyz/").content.decode()

    user = User.objects.get(email="new.colleague@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_resend(user=user, by=council.users["portal_admin"])
    second = link_in(email_body(mailbox()[1]), "/accounts/invitation/")
    assert "newer invitation" in Client().get(first).content.decode()
    assert Client().get(second).status_code == 200

    with time_machine.travel(clock.now() + dt.timedelta(hours=72, seconds=1)):
        expired = Client().get(second)
    assert expired.status_code == 400 and "expired" in expired.content.decode()


def test_a_provider_administrator_invites_and_manages_only_their_own_providers_users(
    council: Council, mailbox
) -> None:
    admin_client = client_for(council.users["provider_a_admin"])
    bad = admin_client.post(reverse("provider_user_invite"), {"full_name": "", "email": "nope", "role": ""})
    page = bad.content.decode()
    assert "Enter their full name" in page and "Enter an email address in the correct format" in page
    assert not User.objects.filter(full_name="").exists()

    response = admin_client.post(
        reverse("provider_user_invite"),
        {"full_name": "Pat Example", "email": "pat@example.org", "role": "provider_user"},
        follow=True,
    )
    assert "We have emailed pat@example.org" in response.content.decode()
    pat = User.objects.get(email="pat@example.org")
    assert pat.memberships.get().provider == council.provider_a

    other = council.users["provider_b"]
    assert admin_client.get(reverse("provider_user", args=[other.pk])).status_code == 404
    assert admin_client.post(reverse("provider_user_remove", args=[other.pk])).status_code == 404
    assert Membership.objects.filter(user=other).exists()

    admin_client.post(reverse("provider_user_remove", args=[pat.pk]))
    assert not Membership.objects.filter(user=pat).exists()
    assert "accounts.membership.removed" in audit_actions(pat)


def test_an_existing_provider_login_cannot_be_invited_twice(council: Council) -> None:
    with pytest.raises(services.AccountError, match="already has a login for this provider"):
        services.user_invite(
            email=council.users["provider_a"].email,
            full_name="Again",
            by=council.users["portal_admin"],
            provider=council.provider_a,
            provider_role="provider_user",
        )


# The six-digit code ----------------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_and_the_first_code_confirms_it(council: Council) -> None:
    user = UserFactory(email="fresh@example.org")
    client = Client()
    sign_in_with_password(client, user.email)
    assert client.get(reverse("home"))["Location"].startswith(reverse("code_enrol"))
    page = client.get(reverse("code_enrol")).content.decode()
    assert "<svg" in page and "QR code for your authenticator app" in page
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    import base64

    assert base64.b32encode(device.bin_key).decode().rstrip("=") == secret

    wrong = client.post(reverse("code_enrol"), {"code": "000000"})
    assert "The security code is not right" in wrong.content.decode()
    malformed = client.post(reverse("code_enrol"), {"code": "12ab"})
    assert "Enter the security code as 6 numbers" in malformed.content.decode()

    throttled = client.post(reverse("code_enrol"), {"code": current_code(device)})
    assert "too many wrong codes" in throttled.content.decode(), "a wrong code makes the next try wait"
    with time_machine.travel(clock.now() + dt.timedelta(seconds=2)):
        response = client.post(reverse("code_enrol"), {"code": current_code(device)})
    assert response["Location"].startswith(reverse("backup_codes_new"))
    codes_page = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", codes_page)
    assert len(codes) == 10
    download = client.get(reverse("backup_codes_new"), {"download": 1})
    assert download["Content-Disposition"].startswith("attachment")
    assert all(code in download.content.decode() for code in codes)
    # Stored only as hashes.
    stored = list(BackupCodeDevice.objects.get(user=user).codes.values_list("code_hash", flat=True))
    assert not set(codes) & set(stored)

    client.post(reverse("backup_codes_new"))
    assert client.get(reverse("backup_codes_new"))["Location"] == reverse("account_security")
    assert client.get(reverse("home")).status_code == 200


def test_a_code_is_accepted_once_and_an_old_one_is_refused(council: Council) -> None:
    user = council.users["provider_a"]
    device = enrol(user)
    code = current_code(device)
    first, second = Client(), Client()
    sign_in_with_password(first, user.email)
    sign_in_with_password(second, user.email)
    assert first.post(reverse("code_verify"), {"code": code})["Location"] == reverse("home")
    replay = second.post(reverse("code_verify"), {"code": code})
    assert replay.status_code == 200 and "not right" in replay.content.decode()

    with time_machine.travel(clock.now() + dt.timedelta(minutes=5)):
        late = Client()
        sign_in_with_password(late, user.email)
        stale = late.post(reverse("code_verify"), {"code": code})
    assert stale.status_code == 200 and "not right" in stale.content.decode()
    assert "accounts.user.code_failed" in audit_actions(user)


def test_a_backup_code_works_once(council: Council) -> None:
    user = council.users["provider_a"]
    enrol(user)
    codes = services.backup_codes_generate(user=user)
    client = Client()
    sign_in_with_password(client, user.email)
    assert client.post(reverse("code_backup"), {"code": codes[0].upper()})["Location"] == reverse("home")
    again = Client()
    sign_in_with_password(again, user.email)
    refused = again.post(reverse("code_backup"), {"code": codes[0]})
    assert "already been used" in refused.content.decode()
    assert BackupCodeDevice.objects.get(user=user).remaining == 9


def test_the_emailed_code_is_rate_limited_and_works(
    council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    user = council.users["provider_a"]
    enrol(user)
    client = Client()
    sign_in_with_password(client, user.email)
    first = client.post(reverse("code_email"), {"send": "1"})
    assert "We have emailed you a security code" in first.content.decode()
    too_soon = client.post(reverse("code_email"), {"send": "1"})
    assert "less than a minute ago" in too_soon.content.decode()
    [message] = mailbox()
    code = re.search(r"security code is (\d{6})", email_body(message)).group(1)
    assert client.post(reverse("code_email"), {"code": code})["Location"] == reverse("home")


def test_codes_are_checked_against_the_chosen_device_only(council: Council) -> None:
    user = council.users["provider_a"]
    device = enrol(user)
    client = Client()
    sign_in_with_password(client, user.email)
    # An app code typed on the backup-code page is not tried against the app.
    response = client.post(reverse("code_backup"), {"code": current_code(device) + "abcd"})
    assert response.status_code == 200
    assert client.get(reverse("home")).status_code == 302


def test_an_unverified_session_cannot_enrol_a_new_device_to_get_round_the_code(council: Council) -> None:
    user = council.users["provider_a"]
    enrol(user)
    client = Client()
    sign_in_with_password(client, user.email)
    assert client.get(reverse("code_enrol"))["Location"] == reverse("code_verify")
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()


def test_regenerating_backup_codes_asks_for_the_password_again(council: Council) -> None:
    client = client_for(council.users["provider_a"])
    response = client.post(reverse("backup_codes_regenerate"))
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not BackupCodeDevice.objects.filter(user=council.users["provider_a"]).exists()
    client.post(reverse("account_reauthenticate"), {"password": TEST_PASSWORD})
    response = client.post(reverse("backup_codes_regenerate"))
    assert response["Location"].startswith(reverse("backup_codes_new"))
    assert BackupCodeDevice.objects.get(user=council.users["provider_a"]).remaining == 10
    security = client.get(reverse("account_security")).content.decode()
    assert "10 left" in security


# Lost code -------------------------------------------------------------------------------------------


def test_losing_the_code_resets_it_by_email_and_password_and_ends_other_sessions(
    council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    user = council.users["provider_a"]
    other_session = client_for(user)
    assert other_session.get(reverse("home")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        Client().post(reverse("code_lost"), {"email": user.email})
        Client().post(reverse("code_lost"), {"email": "nobody@example.org"})
    [message] = mailbox()
    link = link_in(email_body(message), "/accounts/code/reset/")

    client = Client()
    wrong = client.post(link, {"password": "not-my-password"})
    assert "The password is not right" in wrong.content.decode()
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link, {"password": TEST_PASSWORD})
    assert response["Location"] == reverse("code_enrol")
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    assert client.get(reverse("code_enrol")).status_code == 200
    assert other_session.get(reverse("home"))["Location"].startswith(reverse("account_login"))
    assert "reset the six-digit security code" in email_body(mailbox()[-1])
    assert Client().get(link).status_code == 400, "the link works once"


# Locks, leavers and inactivity ------------------------------------------------------------------------


def test_locking_ends_the_users_live_sessions_and_unlocking_restarts_the_clock(
    council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    user = council.users["provider_a"]
    live = client_for(user)
    admin = client_for(council.users["portal_admin"])
    missing_reason = admin.post(reverse("council_account_lock", args=[user.pk]), {"reason": ""})
    assert "Enter a reason" in missing_reason.content.decode()
    admin.post(reverse("council_account_lock", args=[user.pk]), {"reason": "Suspected shared login"})
    assert live.get(reverse("home"))["Location"].startswith(reverse("account_login"))
    refused = sign_in_with_password(Client(), user.email)
    assert refused.status_code == 403 and "Your login is locked" in refused.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        admin.post(reverse("council_account_unlock", args=[user.pk]), {"reason": "Confirmed by phone"})
    user.refresh_from_db()
    assert not user.is_locked and user.last_activity_at is not None
    assert "unlocked" in mailbox()[-1]["Subject"]
    detail = admin.get(reverse("council_account", args=[user.pk])).content.decode()
    assert "Suspected shared login" in detail and "Confirmed by phone" in detail


@pytest.mark.parametrize("action", ["deactivate", "reset_code"])
def test_deactivating_or_resetting_the_code_ends_live_sessions(council: Council, action: str) -> None:
    user = council.users["provider_a"]
    live = client_for(user)
    admin = client_for(council.users["portal_admin"])
    admin.post(reverse(f"council_account_{action}", args=[user.pk]), {"reason": "Left the company"})
    assert live.get(reverse("home"))["Location"].startswith(reverse("account_login"))


def test_a_deactivated_leaver_cannot_sign_in(council: Council) -> None:
    user = council.users["provider_a"]
    services.user_deactivate(user=user, by=council.users["portal_admin"], reason="Left")
    response = sign_in_with_password(Client(), user.email)
    assert response["Location"] == reverse("account_inactive")


def test_ninety_days_without_signing_in_locks_and_day_eighty_warns(
    council: Council, mailbox, django_capture_on_commit_callbacks
) -> None:
    user = council.users["provider_a"]
    services.sign_in_completed(user=user, method="app")
    start = clock.now()

    with (
        time_machine.travel(start + dt.timedelta(days=80, hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.inactive_accounts_lock()["warned"] >= 1
        assert services.inactive_accounts_lock()["warned"] == 0, "warned once"
    warning = [m for m in mailbox() if m["To"] == user.email]
    assert len(warning) == 1 and "keep your login" in warning[0]["Subject"]

    with time_machine.travel(start + dt.timedelta(days=90, hours=1)):
        assert services.inactive_accounts_lock()["locked"] >= 1
        user.refresh_from_db()
        assert user.is_locked and user.lock_reason == User.LockReason.INACTIVITY
        refused = sign_in_with_password(Client(), user.email)
    assert refused.status_code == 403 and "provider.portal@" in refused.content.decode()


def test_sign_in_refuses_an_account_past_ninety_days_even_before_the_daily_task(council: Council) -> None:
    user = council.users["provider_a"]
    services.sign_in_completed(user=user, method="app")
    with time_machine.travel(clock.now() + dt.timedelta(days=91)):
        refused = sign_in_with_password(Client(), user.email)
    assert refused.status_code == 403
    user.refresh_from_db()
    assert user.is_locked


def test_wrong_passwords_lock_sign_in_for_the_account_and_say_nothing_about_existence(
    council: Council,
) -> None:
    cache.clear()
    for _ in range(5):
        sign_in_with_password(Client(), council.users["provider_a"].email, "wrong-password-123")
        sign_in_with_password(Client(), "nobody@example.org", "wrong-password-123")
    locked_out = sign_in_with_password(Client(), council.users["provider_a"].email).content.decode()
    nobody = sign_in_with_password(Client(), "nobody@example.org").content.decode()
    assert "Too many attempts to sign in" in locked_out and "Too many attempts to sign in" in nobody
    # Another account is unaffected.
    assert sign_in_with_password(Client(), council.users["provider_b"].email)["Location"] == reverse("home")
    cache.clear()


def test_the_session_ends_twelve_hours_after_sign_in(council: Council) -> None:
    user = council.users["provider_a"]
    device = enrol(user)
    client = Client()
    sign_in_with_password(client, user.email)
    client.post(reverse("code_verify"), {"code": current_code(device)})
    assert client.get(reverse("home")).status_code == 200
    with time_machine.travel(clock.now() + dt.timedelta(hours=12, minutes=1)):
        assert client.get(reverse("home"))["Location"].startswith(reverse("account_login"))


def _session_writes(client: Client, url: str) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return response.status_code, [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]


def test_activity_keeps_the_session_alive_saving_it_at_most_once_a_minute(council: Council) -> None:
    """30 idle minutes end the session; activity pushes that back, with a write at most once a minute, and
    the page's warning counts from that write. (Redis drops the cached session at its expiry; moving the
    clock does not move Redis's, so the test drops it as Redis would.)"""
    client = client_for(council.users["provider_a"])
    start = clock.now()
    with time_machine.travel(start, tick=False):
        assert _session_writes(client, reverse("home"))[1]  # the first request of a session saves it
        assert _session_writes(client, reverse("home")) == (200, [])
    with time_machine.travel(start + dt.timedelta(seconds=50), tick=False):
        status, writes = _session_writes(client, reverse("care_package_lines"))
        assert (status, writes) == (200, [])  # within the minute: read, not written
        page = client.get(reverse("care_package_lines")).content.decode()
        assert 'data-session-timeout="1750"' in page  # 30 minutes from the save, 50 seconds ago
    with time_machine.travel(start + dt.timedelta(minutes=20), tick=False):
        status, writes = _session_writes(client, reverse("home"))
        assert status == 200 and any(sql.startswith("UPDATE") for sql in writes)
    with time_machine.travel(start + dt.timedelta(minutes=49), tick=False):
        cache.clear()
        assert client.get(reverse("home")).status_code == 200  # 29 minutes after the last save
    with time_machine.travel(start + dt.timedelta(minutes=49, seconds=30), tick=False):
        assert client.get(reverse("session_keepalive")).status_code == 204  # "Stay signed in" saves
    with time_machine.travel(start + dt.timedelta(minutes=79), tick=False):
        cache.clear()
        assert client.get(reverse("home")).status_code == 200  # 29.5 minutes after "Stay signed in"
    with time_machine.travel(start + dt.timedelta(minutes=110), tick=False):
        cache.clear()
        assert client.get(reverse("home"))["Location"].startswith(reverse("account_login"))  # 31 idle


def test_the_session_key_changes_at_the_password_and_at_the_code(council: Council) -> None:
    user = council.users["provider_a"]
    device = enrol(user)
    client = Client()
    client.get(reverse("account_login"))
    anonymous_key = client.session.session_key
    sign_in_with_password(client, user.email)
    password_key = client.session.session_key
    client.post(reverse("code_verify"), {"code": current_code(device)})
    code_key = client.session.session_key
    assert len({anonymous_key, password_key, code_key}) == 3
    assert client.get(reverse("home")).status_code == 200


def test_a_new_password_ends_other_sessions(council: Council) -> None:
    user = council.users["provider_a"]
    live = client_for(user)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert live.get(reverse("home"))["Location"].startswith(reverse("account_login"))
