"""Reads of accounts: for portal administrators (everyone), for a provider administrator (their
provider's logins only), and an account's history."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from portal.accounts.models import Membership, User
from portal.audit.models import AuditEvent
from portal.providers.models import Provider


def accounts_for_staff(*, user: User) -> QuerySet[User]:
    if not user.is_council_staff:
        return User.objects.none()
    return User.objects.prefetch_related(
        Prefetch("memberships", queryset=Membership.objects.select_related("provider"))
    ).order_by("email")


def users_for_provider(*, provider: Provider) -> QuerySet[User]:
    """The logins that act for this provider: nobody else's (another provider's login is a 404)."""
    return (
        User.objects.filter(memberships__provider=provider)
        .prefetch_related(Prefetch("memberships", queryset=Membership.objects.filter(provider=provider)))
        .order_by("email")
    )


def account_history(*, user: User) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.for_object(user)[:100]  # type: ignore[return-value]
