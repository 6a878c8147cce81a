"""Users (email is the login), their memberships of providers, council roles, invitations and the
hashed backup codes of the six-digit security code."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils.crypto import salted_hmac
from django_otp.models import Device, ThrottlingMixin

from portal.providers.models import Provider


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        fields.setdefault("council_role", User.CouncilRole.PORTAL_ADMINISTRATOR)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    """A person who signs in. Provider staff act through memberships; council staff have a council role."""

    class CouncilRole(models.TextChoices):
        NONE = "", "None (provider staff)"
        FINANCE_OFFICER = "finance_officer", "Finance officer"
        PORTAL_ADMINISTRATOR = "portal_administrator", "Portal administrator"

    class LockReason(models.TextChoices):
        INACTIVITY = "inactivity", "Not used for 90 days"
        ADMINISTRATOR = "administrator", "Locked by an administrator"

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200)
    council_role = models.CharField(max_length=30, choices=CouncilRole.choices, blank=True, default="")
    is_active = models.BooleanField(default=True, help_text="Off for leavers: they can never sign in again.")
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(auto_now_add=True)
    # The 90-day inactivity clock runs from the latest of: a full sign-in (password and code), accepting
    # an invitation, being unlocked.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    inactivity_warning_sent_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    lock_reason = models.CharField(max_length=20, choices=LockReason.choices, blank=True, default="")
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # Bumped to end every live session of the user at its next request (lock, deactivate, code reset).
    session_epoch = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=Q(council_role__in=["", "finance_officer", "portal_administrator"]),
                name="user_council_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_council_staff(self) -> bool:
        return bool(self.council_role)

    def is_verified(self) -> bool:
        """Replaced per request by django-otp's OTPMiddleware; False for a user loaded anywhere else."""
        return False

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    def get_session_auth_hash(self) -> str:
        """Django checks this on every request: a new password or a new epoch ends older sessions."""
        return salted_hmac(
            "portal.accounts.User.get_session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            algorithm="sha256",
        ).hexdigest()


class MembershipQuerySet(models.QuerySet["Membership"]):
    def usable(self) -> MembershipQuerySet:
        """Memberships of providers whose portal access is switched on."""
        return self.filter(provider__portal_enabled=True).select_related("provider")


class Membership(models.Model):
    """A user acting for a provider, as a provider user or a provider administrator."""

    class Role(models.TextChoices):
        PROVIDER_USER = "provider_user", "Provider user"
        PROVIDER_ADMINISTRATOR = "provider_administrator", "Provider administrator"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=30, choices=Role.choices, default=Role.PROVIDER_USER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["provider__name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "provider"], name="membership_unique_user_provider"),
            models.CheckConstraint(
                condition=Q(role__in=["provider_user", "provider_administrator"]),
                name="membership_role_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.provider} ({self.get_role_display()})"


def token_hash(token: str) -> str:
    """Links and codes are stored only as this keyed hash; the plain value goes to the user once."""
    return hmac.new(settings.SECRET_KEY.encode(), token.encode(), hashlib.sha256).hexdigest()


class Invitation(models.Model):
    """An emailed, single-use link to set a password, valid for 72 hours."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invitations")
    provider = models.ForeignKey(Provider, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation for {self.user}"


class BackupCodeDevice(ThrottlingMixin, Device):
    """Ten one-use backup codes, stored as keyed hashes (django-otp's static device keeps them in clear)."""

    class Meta:
        verbose_name = "backup code device"

    def get_throttle_factor(self) -> int:
        return 1

    def verify_token(self, token: Any) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        code = normalise_backup_code(str(token))
        match = self.codes.filter(code_hash=token_hash(code), used_at__isnull=True).first()
        if match is None:
            self.throttle_increment(commit=True)
            return False
        from portal import clock

        match.used_at = clock.now()
        match.save(update_fields=["used_at"])
        self.throttle_reset(commit=True)
        return True

    @property
    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["device", "code_hash"], name="backup_code_unique_per_device")
        ]

    def __str__(self) -> str:
        return "used backup code" if self.used_at else "unused backup code"


BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


def new_backup_code() -> str:
    raw = "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_backup_code(code: str) -> str:
    raw = "".join(ch for ch in code.lower() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}"
