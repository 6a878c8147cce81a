"""Telling a provider that a payment run has paid it: an email to the provider's address and to each of its
users who may read remittances, queued in the transaction that stores the remittance (portal.mail), sent
by a worker once it commits. The email says only that there is a remittance, what it totals and where to
read it: email is not a secure channel for people's details."""

from __future__ import annotations

from django.conf import settings
from django.template.loader import render_to_string

from portal.accounts.models import Membership
from portal.mail.models import QueuedEmail
from portal.mail.services import email_queue
from portal.permissions import PROVIDER_ROLE_PERMISSIONS, VIEW_OWN_REMITTANCES
from remittances.models import Remittance


def remittance_recipients(remittance: Remittance) -> list[str]:
    """The provider's own address and its active users whose role reads remittances."""
    provider = remittance.provider
    roles = [role for role, granted in PROVIDER_ROLE_PERMISSIONS.items() if VIEW_OWN_REMITTANCES in granted]
    users = Membership.objects.filter(provider=provider, role__in=roles, user__is_active=True).values_list(
        "user__email", flat=True
    )
    return sorted({provider.email, *users} - {""})


def remittance_received(*, remittance: Remittance) -> QueuedEmail | None:
    """Queue the email for a remittance just stored (the sync calls this only for a new one). Nothing for
    a provider not using the portal yet, or with nobody to tell."""
    provider = remittance.provider
    if not provider.portal_enabled:
        return None
    recipients = remittance_recipients(remittance)
    if not recipients:
        return None
    context = {
        "provider": provider,
        "remittance": remittance,
        "lines": remittance.lines.count(),
        "council_name": settings.COUNCIL_NAME,
        "base_url": settings.PORTAL_BASE_URL,
    }
    subject = render_to_string("emails/remittances/remittance_received_subject.txt", context).strip()
    body = render_to_string("emails/remittances/remittance_received.txt", context)
    return email_queue(subject=subject, body=body, to=recipients)
