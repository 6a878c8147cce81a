"""The account lifecycle: invite, accept, enrol the security code, verify it, lock and unlock, leave.

Every change runs in a transaction, locks what it changes, writes an audit event and sends its email
after commit. Ending a user's live sessions is done by bumping `User.session_epoch`, which is part of
the session hash Django checks on every request.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.signing import BadSignature, SignatureExpired, TimestampSigner
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from portal import clock
from portal.accounts.emails import send_account_email
from portal.accounts.models import (
    BackupCode,
    BackupCodeDevice,
    Invitation,
    Membership,
    User,
    new_backup_code,
    token_hash,
)
from portal.audit.services import audit_record
from portal.providers.models import Provider

BACKUP_CODE_COUNT = 10


class AccountError(Exception):
    """A change to an account that cannot be made; the message is for the user."""


# Invitations --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: Invitation
    token: str  # the plain token: only ever in the emailed link


def user_invite(
    *,
    email: str,
    full_name: str,
    by: User | None,
    provider: Provider | None = None,
    provider_role: str = "",
    council_role: str = "",
) -> IssuedInvitation:
    """Create the login (or add a membership to an existing one) and email a link to set a password.

    A provider login needs `provider` and `provider_role`; a council login needs `council_role`.
    An existing login of the same provider is refused; an existing login of another provider gains a
    membership without a new invitation unless it has never set a password.
    """
    email = User.objects.normalize_email(email).strip().lower()
    if provider is None and not council_role:
        raise AccountError("Choose a provider and role, or a council role.")
    if provider is not None and provider_role not in Membership.Role.values:
        raise AccountError("Choose whether they are a provider user or a provider administrator.")
    if council_role and council_role not in (
        User.CouncilRole.FINANCE_OFFICER,
        User.CouncilRole.PORTAL_ADMINISTRATOR,
    ):
        raise AccountError("Choose a council role.")
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=email).first()
        if user is not None and not user.is_active:
            raise AccountError("This email address belongs to a login that has been deactivated.")
        if user is None:
            user = User.objects.create_user(
                email, None, full_name=full_name.strip(), council_role=council_role
            )
            user.last_activity_at = clock.now()
            user.save(update_fields=["last_activity_at"])
        elif council_role:
            raise AccountError("There is already a login with this email address.")
        if provider is not None:
            if Membership.objects.filter(user=user, provider=provider).exists():
                raise AccountError("This person already has a login for this provider.")
            Membership.objects.create(user=user, provider=provider, role=provider_role)
        issued = _invitation_issue(user=user, provider=provider, by=by)
        audit_record(
            action="accounts.user.invited",
            actor=by,
            obj=user,
            provider=provider,
            data={"role": provider_role or council_role, "expires_at": issued.invitation.expires_at},
        )
    return issued


def _invitation_issue(*, user: User, provider: Provider | None, by: User | None) -> IssuedInvitation:
    now = clock.now()
    Invitation.objects.filter(user=user, accepted_at__isnull=True, revoked_at__isnull=True).update(
        revoked_at=now
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        user=user,
        provider=provider,
        token_hash=token_hash(token),
        invited_by=by,
        created_at=now,
        expires_at=now + dt.timedelta(hours=settings.INVITATION_VALID_HOURS),
    )
    send_account_email(
        "invitation",
        to=user,
        context={"token": token, "provider": provider, "expires_at": invitation.expires_at, "invited_by": by},
    )
    return IssuedInvitation(invitation, token)


def invitation_resend(*, user: User, by: User) -> IssuedInvitation:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.has_usable_password():
            raise AccountError("This person has already set their password.")
        if not user.is_active:
            raise AccountError("This login has been deactivated.")
        last = user.invitations.first()
        issued = _invitation_issue(user=user, provider=last.provider if last else None, by=by)
        audit_record(action="accounts.user.invitation_resent", actor=by, obj=user)
    return issued


def invitation_find(*, token: str) -> Invitation:
    """The invitation for a link, if it can still be used; otherwise AccountError saying why not."""
    invitation = Invitation.objects.select_related("user").filter(token_hash=token_hash(token)).first()
    if invitation is None:
        raise AccountError("This link is not valid. Check you copied the whole link from the email.")
    if invitation.accepted_at is not None:
        raise AccountError("This link has already been used. Sign in with the password you set.")
    if invitation.revoked_at is not None:
        raise AccountError("A newer invitation replaced this link. Use the link in the latest email.")
    if invitation.expires_at <= clock.now():
        raise AccountError("This link has expired. Ask whoever invited you to send a new one.")
    if not invitation.user.is_active:
        raise AccountError("This login has been deactivated.")
    return invitation


def invitation_accept(*, token: str, password: str) -> User:
    """Set the password from an invitation link. The link then dies."""
    with transaction.atomic():
        invitation = invitation_find(token=token)
        invitation = Invitation.objects.select_for_update().select_related("user").get(pk=invitation.pk)
        invitation_find(token=token)  # again, now that the row is locked: two tabs cannot both use it
        user = invitation.user
        password_validation.validate_password(password, user)
        user.set_password(password)
        user.last_activity_at = clock.now()
        user.save(update_fields=["password", "last_activity_at"])
        invitation.accepted_at = clock.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(
            action="accounts.user.invitation_accepted", actor=user, obj=user, provider=invitation.provider
        )
    return user


# The six-digit code ----------------------------------------------------------------------------------


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator device, created on first asking (its secret shown until used)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def _ensure_not_throttled(device: Any) -> None:
    """Wrong codes make the device wait (1 s, 2 s, 4 s, …): say so rather than call a right code wrong."""
    if device is None:
        return
    allowed, _ = device.verify_is_allowed()
    if not allowed:
        raise AccountError("You have entered too many wrong codes. Wait a minute, then try again")


def totp_enrolment_confirm(*, user: User, token: str) -> TOTPDevice | None:
    """Confirm the authenticator app with its first valid code; None when the code is wrong."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        _ensure_not_throttled(device)
        if device is None or not device.verify_token(token):
            return None
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        EmailDevice.objects.get_or_create(user=user, defaults={"name": "Email", "confirmed": True})
        audit_record(action="accounts.user.code_enrolled", actor=user, obj=user)
    return device


def has_security_code(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def backup_codes_generate(*, user: User) -> list[str]:
    """A fresh set of ten codes, replacing any earlier set. The plain codes are returned once."""
    codes = [new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    with transaction.atomic():
        BackupCodeDevice.objects.filter(user=user).delete()
        device = BackupCodeDevice.objects.create(user=user, name="Backup codes", confirmed=True)
        BackupCode.objects.bulk_create(
            BackupCode(device=device, code_hash=token_hash(code)) for code in codes
        )
        audit_record(action="accounts.user.backup_codes_generated", actor=user, obj=user)
    return codes


class CodeMethod:
    APP = "app"
    BACKUP = "backup"
    EMAIL = "email"


_DEVICE_MODELS = {
    CodeMethod.APP: TOTPDevice,
    CodeMethod.BACKUP: BackupCodeDevice,
    CodeMethod.EMAIL: EmailDevice,
}


def code_verify(*, user: User, method: str, token: str) -> TOTPDevice | BackupCodeDevice | EmailDevice | None:
    """Check a code against the one device the user chose. The device row is locked while checking, so a
    code is accepted once however many requests race with it. Wrong codes are throttled per device
    (per account), with waits that double each time."""
    model = _DEVICE_MODELS.get(method)
    if model is None:
        return None
    token = token.strip().replace(" ", "")
    with transaction.atomic():
        device = model.objects.select_for_update().filter(user=user, confirmed=True).first()
        _ensure_not_throttled(device)
        verified = device is not None and device.verify_token(token)
        audit_record(
            action="accounts.user.code_verified" if verified else "accounts.user.code_failed",
            actor=user,
            obj=user,
            data={"method": method},
        )
    if not verified:
        return None
    return device


def email_code_send(*, user: User) -> bool:
    """Email a one-time code as the last fallback. False when one was sent less than a minute ago."""
    with transaction.atomic():
        device, _ = EmailDevice.objects.select_for_update().get_or_create(
            user=user, defaults={"name": "Email", "confirmed": True}
        )
        allowed, _ = device.generate_is_allowed()
        if not allowed:
            return False
        device.generate_challenge()
        audit_record(action="accounts.user.email_code_sent", actor=user, obj=user)
    return True


def security_code_reset(*, user: User, by: User) -> None:
    """Remove the authenticator app and backup codes and end every session: the next sign-in enrols anew.
    The user is told by email, whoever did it."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        TOTPDevice.objects.filter(user=user).delete()
        BackupCodeDevice.objects.filter(user=user).delete()
        _end_sessions(user)
        audit_record(
            action="accounts.user.code_reset", actor=by, obj=user, data={"by_self": by.pk == user.pk}
        )
        send_account_email("code_reset", to=user, context={"by_self": by.pk == user.pk})


_RESET_SALT = "portal.accounts.security_code_reset"


def security_code_reset_link_send(*, email: str) -> None:
    """Email a link to reset the security code, if the address has an active login; say nothing either way."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    token = TimestampSigner(salt=_RESET_SALT).sign(f"{user.pk}:{user.session_epoch}")
    audit_record(action="accounts.user.code_reset_requested", actor=None, obj=user)
    send_account_email("code_reset_link", to=user, context={"token": token})


def security_code_reset_link_user(*, token: str) -> User:
    """The user a reset link is for; AccountError if it is tampered with, expired or already used."""
    try:
        value = TimestampSigner(salt=_RESET_SALT).unsign(
            token, max_age=settings.SECURITY_CODE_RESET_VALID_SECONDS
        )
    except SignatureExpired as error:
        raise AccountError("This link has expired. Ask for a new one.") from error
    except BadSignature as error:
        raise AccountError(
            "This link is not valid. Check you copied the whole link from the email."
        ) from error
    user_pk, epoch = value.split(":")
    user = User.objects.filter(pk=user_pk, is_active=True).first()
    if user is None or str(user.session_epoch) != epoch:
        raise AccountError("This link has already been used. Ask for a new one if you still need it.")
    return user


# Locks, unlocks and leavers ---------------------------------------------------------------------------


def _end_sessions(user: User) -> None:
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise AccountError("Give a reason.")
    return reason


def user_lock(
    *, user: User, by: User | None, reason: str, lock_reason: str = User.LockReason.ADMINISTRATOR
) -> User:
    reason = _require_reason(reason)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_locked:
            raise AccountError("This login is already locked.")
        user.locked_at = clock.now()
        user.lock_reason = lock_reason
        user.save(update_fields=["locked_at", "lock_reason"])
        _end_sessions(user)
        audit_record(action="accounts.user.locked", actor=by, obj=user, data={"reason": reason})
    return user


def user_unlock(*, user: User, by: User, reason: str) -> User:
    """Unlock, restarting the 90-day clock, and tell the user."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.is_locked:
            raise AccountError("This login is not locked.")
        reason = _require_reason(reason)
        user.locked_at = None
        user.lock_reason = ""
        user.last_activity_at = clock.now()
        user.inactivity_warning_sent_at = None
        user.save(
            update_fields=["locked_at", "lock_reason", "last_activity_at", "inactivity_warning_sent_at"]
        )
        audit_record(action="accounts.user.unlocked", actor=by, obj=user, data={"reason": reason})
        send_account_email("unlocked", to=user, context={})
    return user


def user_deactivate(*, user: User, by: User, reason: str) -> User:
    """A leaver: never able to sign in again; their record and history stay."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if not user.is_active:
            raise AccountError("This login is already deactivated.")
        if user.pk == by.pk:
            raise AccountError("You cannot deactivate your own login.")
        reason = _require_reason(reason)
        user.is_active = False
        user.deactivated_at = clock.now()
        user.save(update_fields=["is_active", "deactivated_at"])
        Invitation.objects.filter(user=user, accepted_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=clock.now()
        )
        _end_sessions(user)
        audit_record(action="accounts.user.deactivated", actor=by, obj=user, data={"reason": reason})
    return user


def membership_remove(*, membership: Membership, by: User) -> None:
    """A provider administrator removes a colleague from their provider (other providers keep them)."""
    with transaction.atomic():
        membership = (
            Membership.objects.select_for_update().select_related("user", "provider").get(pk=membership.pk)
        )
        if membership.user_id == by.pk:
            raise AccountError("You cannot remove yourself.")
        user, provider = membership.user, membership.provider
        membership.delete()
        _end_sessions(user)
        audit_record(action="accounts.membership.removed", actor=by, obj=user, provider=provider)


# Sign-in events and the inactivity lock ------------------------------------------------------------------


def inactivity_deadline(user: User) -> dt.datetime:
    started = user.last_activity_at or user.date_joined
    return started + dt.timedelta(days=settings.INACTIVITY_LOCK_DAYS)


def sign_in_allowed(*, user: User) -> bool:
    """False for a locked login, locking it first if 90 days have passed since it was last used."""
    if user.is_locked:
        return False
    if inactivity_deadline(user) <= clock.now():
        user_lock(user=user, by=None, reason="Not used for 90 days", lock_reason=User.LockReason.INACTIVITY)
        return False
    return True


def sign_in_completed(*, user: User, method: str) -> None:
    """Password and code both given: the 90-day clock restarts."""
    User.objects.filter(pk=user.pk).update(last_activity_at=clock.now(), inactivity_warning_sent_at=None)
    audit_record(action="accounts.user.signed_in", actor=user, obj=user, data={"method": method})


def inactive_accounts_lock() -> dict[str, int]:
    """The daily sweep: warn at day 80, lock at day 90. Safe to run twice."""
    now = clock.now()
    locked = warned = 0
    lock_before = now - dt.timedelta(days=settings.INACTIVITY_LOCK_DAYS)
    warn_before = now - dt.timedelta(days=settings.INACTIVITY_WARNING_DAYS)
    active = User.objects.filter(is_active=True, locked_at__isnull=True).annotate(
        clock_from=Coalesce("last_activity_at", "date_joined")
    )
    for user in active.filter(clock_from__lte=lock_before):
        user_lock(user=user, by=None, reason="Not used for 90 days", lock_reason=User.LockReason.INACTIVITY)
        locked += 1
    for user in active.filter(clock_from__lte=warn_before, inactivity_warning_sent_at__isnull=True):
        with transaction.atomic():
            if User.objects.filter(pk=user.pk, inactivity_warning_sent_at__isnull=True).update(
                inactivity_warning_sent_at=now
            ):
                audit_record(action="accounts.user.inactivity_warned", actor=None, obj=user)
                send_account_email(
                    "inactivity_warning", to=user, context={"locks_on": inactivity_deadline(user)}
                )
                warned += 1
    return {"locked": locked, "warned": warned}
