"""State changes of providers: a portal administrator switches portal access on or off."""

from __future__ import annotations

from django.db import transaction

from portal import clock
from portal.accounts.models import User
from portal.audit.services import audit_record
from portal.providers.models import Provider


class ProviderError(Exception):
    """A change to a provider that cannot be made; the message is for the user."""


def provider_portal_access_set(*, provider: Provider, enabled: bool, by: User) -> Provider:
    """Switch the provider's portal access on or off. Its users can sign in only while it is on."""
    with transaction.atomic():
        provider = Provider.objects.select_for_update().get(pk=provider.pk)
        if enabled and not provider.active:
            raise ProviderError(
                "This provider is not active in the back office, so portal access cannot be switched on."
            )
        if provider.portal_enabled == enabled:
            return provider
        provider.portal_enabled = enabled
        provider.portal_enabled_at = clock.now() if enabled else None
        provider.save(update_fields=["portal_enabled", "portal_enabled_at", "updated_at"])
        audit_record(
            action="providers.provider.portal_access_on"
            if enabled
            else "providers.provider.portal_access_off",
            actor=by,
            obj=provider,
            provider=provider,
        )
    return provider
