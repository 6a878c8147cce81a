"""Telling providers what changed in the back office where it matters to them: a line ended or changed
(rate, planned quantity, status), a person they care for died. An email to the provider's address and its
administrators, queued with the change and sent by a worker once it commits. (Notices on the home page
arrive with issue #7.)"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from portal.accounts.models import Membership
from portal.mail.services import email_queue
from portal.providers.models import Provider


def provider_tell(*, provider: Provider, template: str, context: dict[str, Any]) -> None:
    if not provider.portal_enabled:
        return  # nobody there uses the portal yet
    administrators = Membership.objects.filter(
        provider=provider, role=Membership.Role.PROVIDER_ADMINISTRATOR, user__is_active=True
    ).values_list("user__email", flat=True)
    recipients = sorted({provider.email, *administrators} - {""})
    if not recipients:
        return
    context = {
        "provider": provider,
        "council_name": settings.COUNCIL_NAME,
        "base_url": settings.PORTAL_BASE_URL,
        **context,
    }
    subject = render_to_string(f"emails/providers/{template}_subject.txt", context).strip()
    body = render_to_string(f"emails/providers/{template}.txt", context)
    email_queue(subject=subject, body=body, to=recipients)
