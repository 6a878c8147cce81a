"""What every page's layout needs: the council, the provider in use, the user's permissions."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from portal.accounts.middleware import session_seconds_left


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "council_name": settings.COUNCIL_NAME,
        "service_name": settings.SERVICE_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
        "provider_in_use": getattr(request, "provider", None),
        "memberships": getattr(request, "memberships", []),
        "portal_perms": getattr(request, "portal_perms", frozenset()),
        "session_timeout_seconds": _seconds_left(request),
    }


def _seconds_left(request: HttpRequest) -> int:
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated and hasattr(request, "session")
    return session_seconds_left(request) if signed_in else 0
