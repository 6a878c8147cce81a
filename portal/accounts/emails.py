"""Account emails: plain text from templates/emails/accounts/<kind>.txt, queued in the change's transaction
and sent by a worker once it commits (portal.mail)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.template.loader import render_to_string

from portal.mail.services import email_queue

if TYPE_CHECKING:
    from portal.accounts.models import User


def send_account_email(kind: str, *, to: User, context: dict[str, Any]) -> None:
    context = {
        "user": to,
        "council_name": settings.COUNCIL_NAME,
        "service_name": settings.SERVICE_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "base_url": settings.PORTAL_BASE_URL,
        **context,
    }
    subject = render_to_string(f"emails/accounts/{kind}_subject.txt", context).strip()
    body = render_to_string(f"emails/accounts/{kind}.txt", context)
    email_queue(subject=subject, body=body, to=[to.email])
