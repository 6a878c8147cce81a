"""Navigation by role: what the service navigation shows, from the same permissions views declare."""

from __future__ import annotations

from typing import NamedTuple

from django.http import HttpRequest
from django.urls import reverse

from portal import permissions


class NavItem(NamedTuple):
    label: str
    url: str
    current: bool


# (label, URL name, permission needed or None for everyone signed in)
NAVIGATION = [
    ("Home", "home", None),
    ("Actuals", "actuals_weeks", permissions.VIEW_OWN_ACTUALS),
    ("Scheduled payments", "scheduled_payments", permissions.VIEW_OWN_ACTUALS),
    ("Care package lines", "care_package_lines", permissions.VIEW_OWN_CARE_PACKAGE_LINES),
    ("Providers", "council_providers", permissions.VIEW_PROVIDERS),
    ("All care package lines", "council_care_package_lines", permissions.VIEW_ALL_CARE_PACKAGE_LINES),
    ("Exception review", "council_exception_review", permissions.REVIEW_EXCEPTIONS),
    ("Deadlines", "council_deadlines", permissions.TRACK_DEADLINES),
    ("Accounts", "council_accounts", permissions.MANAGE_ACCOUNTS),
    ("Back-office link", "council_backoffice", permissions.MANAGE_BACKOFFICE_LINK),
    ("Your colleagues", "provider_users", permissions.MANAGE_PROVIDER_USERS),
]


def navigation_for(request: HttpRequest) -> list[NavItem]:
    if not request.user.is_authenticated:
        return []
    granted: frozenset[str] = getattr(request, "portal_perms", frozenset())
    items = []
    for label, url_name, permission in NAVIGATION:
        if permission is not None and permission not in granted:
            continue
        url = reverse(url_name)
        current = request.path == url if url_name == "home" else request.path.startswith(url)
        items.append(NavItem(label, url, current))
    return items
