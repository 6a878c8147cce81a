"""Users (email is the login), their memberships of providers, and council roles."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q

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


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. Provider staff act through memberships; council staff have a council role."""

    class CouncilRole(models.TextChoices):
        NONE = "", "None (provider staff)"
        FINANCE_OFFICER = "finance_officer", "Finance officer"
        PORTAL_ADMINISTRATOR = "portal_administrator", "Portal administrator"

    email = models.EmailField("email address", unique=True)
    full_name = models.CharField(max_length=200)
    council_role = models.CharField(max_length=30, choices=CouncilRole.choices, blank=True, default="")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(auto_now_add=True)

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
