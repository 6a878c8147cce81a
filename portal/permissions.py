"""Every permission in the portal, and the roles that grant them.

Views declare what they need (`permission_required = perms.VIEW_OWN_CARE_PACKAGE_LINES`); templates ask
`portal_perms` (the same answer, from the context processor) whether to show a link or a button.
Provider permissions come from the membership of the provider in use; council permissions from the
user's council role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from portal.accounts.models import Membership, User

# Provider side -----------------------------------------------------------------------------------
VIEW_OWN_CARE_PACKAGE_LINES = "providers.view_own_care_package_lines"
MANAGE_PROVIDER_USERS = "accounts.manage_provider_users"
VIEW_OWN_ACTUALS = "actuals.view_own_actuals"
RECORD_ACTUALS = "actuals.record_actuals"  # generate, amend, acknowledge, upload claim forms and visits
CONFIRM_ACTUALS = "actuals.confirm_actuals"  # confirm a week, a nil return, correct a confirmed line

# Council side ------------------------------------------------------------------------------------
VIEW_ALL_CARE_PACKAGE_LINES = "providers.view_all_care_package_lines"
VIEW_PROVIDERS = "providers.view_providers"
MANAGE_PORTAL_ACCESS = "providers.manage_portal_access"
MANAGE_ACCOUNTS = "accounts.manage_accounts"
MANAGE_BACKOFFICE_LINK = "controcc_sync.manage_link"
REVIEW_EXCEPTIONS = "actuals.review_exceptions"
TRACK_DEADLINES = "actuals.track_deadlines"
MANAGE_CLOSURE_DAYS = "actuals.manage_closure_days"

_PROVIDER_WORK = frozenset({VIEW_OWN_CARE_PACKAGE_LINES, VIEW_OWN_ACTUALS, RECORD_ACTUALS, CONFIRM_ACTUALS})
PROVIDER_PERMISSIONS = _PROVIDER_WORK | {MANAGE_PROVIDER_USERS}

PROVIDER_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "provider_user": _PROVIDER_WORK,
    "provider_administrator": _PROVIDER_WORK | {MANAGE_PROVIDER_USERS},
}

COUNCIL_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "finance_officer": frozenset(
        {VIEW_ALL_CARE_PACKAGE_LINES, VIEW_PROVIDERS, REVIEW_EXCEPTIONS, TRACK_DEADLINES, MANAGE_CLOSURE_DAYS}
    ),
    "portal_administrator": frozenset(
        {
            VIEW_ALL_CARE_PACKAGE_LINES,
            VIEW_PROVIDERS,
            MANAGE_PORTAL_ACCESS,
            MANAGE_ACCOUNTS,
            MANAGE_BACKOFFICE_LINK,
            TRACK_DEADLINES,
            MANAGE_CLOSURE_DAYS,
        }
    ),
}


def permissions_for(user: User, membership: Membership | None) -> frozenset[str]:
    """What this user may do, acting for the provider of `membership` (or for nobody)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    granted = COUNCIL_ROLE_PERMISSIONS.get(user.council_role, frozenset())
    if membership is not None:
        granted |= PROVIDER_ROLE_PERMISSIONS.get(membership.role, frozenset())
    return granted
