"""Account emails: plain text from templates/emails/accounts/<kind>.txt, sent after the change commits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

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
    transaction.on_commit(lambda: send_mail(subject, body, None, [to.email]))
