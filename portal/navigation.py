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
    unread: int = 0  # shown beside the label


# (label, URL name, permission needed or None for everyone signed in)
NAVIGATION = [
    ("Home", "home", None),
    ("Actuals", "actuals_weeks", permissions.VIEW_OWN_ACTUALS),
    ("Scheduled payments", "scheduled_payments", permissions.VIEW_OWN_ACTUALS),
    ("Remittances", "remittances", permissions.VIEW_OWN_REMITTANCES),
    ("Care package lines", "care_package_lines", permissions.VIEW_OWN_CARE_PACKAGE_LINES),
    ("Children", "children", permissions.VIEW_CHILDREN),
    ("Invoices", "invoices", permissions.RAISE_INVOICES),
    ("Expense claims", "expense_claims", permissions.CLAIM_EXPENSES),
    ("Messages", "threads", permissions.USE_MESSAGES),
    ("Reports", "reports", permissions.VIEW_OWN_REPORTS),
    ("Providers", "council_providers", permissions.VIEW_PROVIDERS),
    ("All care package lines", "council_care_package_lines", permissions.VIEW_ALL_CARE_PACKAGE_LINES),
    ("Exception review", "council_exception_review", permissions.REVIEW_EXCEPTIONS),
    ("Deadlines", "council_deadlines", permissions.TRACK_DEADLINES),
    ("Remittances", "council_remittances", permissions.VIEW_ALL_REMITTANCES),
    ("Invoices", "council_invoices", permissions.VIEW_ALL_INVOICES_AND_EXPENSES),
    ("Expense claims", "council_expense_claims", permissions.VIEW_ALL_INVOICES_AND_EXPENSES),
    ("Messages", "council_threads", permissions.HANDLE_THREADS),
    ("Reports", "council_reports", permissions.VIEW_REPORTS),
    ("Teams", "council_teams", permissions.MANAGE_TEAMS),
    ("Notices", "council_notices", permissions.MANAGE_CONTENT),
    ("Accounts", "council_accounts", permissions.MANAGE_ACCOUNTS),
    ("Back-office link", "council_backoffice", permissions.MANAGE_BACKOFFICE_LINK),
    ("Your colleagues", "provider_users", permissions.MANAGE_PROVIDER_USERS),
    ("Guidance", "guidance", permissions.VIEW_GUIDANCE),
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
        items.append(NavItem(label, url, current, _unread(request, url_name)))
    return items


def _unread(request: HttpRequest, url_name: str) -> int:
    """The unread threads beside "Messages": the provider's, or the staff member's teams'."""
    if url_name not in ("threads", "council_threads"):
        return 0
    from disputes.selectors import unread_count  # the kernel's navigation reads the disputes app

    provider = getattr(request, "provider", None) if url_name == "threads" else None
    return unread_count(user=request.user, provider=provider)  # type: ignore[arg-type]
