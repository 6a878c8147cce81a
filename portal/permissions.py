"""Every permission in the portal, and the roles that grant them.

Views declare what they need (`permission_required = perms.VIEW_OWN_CARE_PACKAGE_LINES`); templates ask
`portal_perms` (the same answer, from the context processor) whether to show a link or a button.
Provider permissions come from the membership of the provider in use (some only for some kinds of
provider: `PROVIDER_KIND_PERMISSIONS`); council permissions from the user's council role.
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
USE_MESSAGES = "disputes.use_messages"  # the provider's threads: read, reply, raise queries, dispute payments
READ_NOTICES = (
    "content.read_notices"  # the council's notices of change for the provider in use: read, dismiss
)
VIEW_GUIDANCE = "content.view_guidance"  # the published guidance pages (council staff read them too)
VIEW_OWN_REMITTANCES = "remittances.view_own_remittances"  # remittance advice, its PDF and Excel, documents
VIEW_CHILDREN = "remittances.view_children"  # information about a child placed with the provider
RAISE_INVOICES = "remittances.raise_invoices"  # invoices for placements paid on invoice: raise, read
CLAIM_EXPENSES = "remittances.claim_expenses"  # a foster carer's expense claims with receipts: claim, read
VIEW_OWN_REPORTS = "reports.view_own_reports"  # the provider's reports, their files and the home page's panel

# Council side ------------------------------------------------------------------------------------
VIEW_ALL_CARE_PACKAGE_LINES = "providers.view_all_care_package_lines"
VIEW_PROVIDERS = "providers.view_providers"
MANAGE_PORTAL_ACCESS = "providers.manage_portal_access"
MANAGE_ACCOUNTS = "accounts.manage_accounts"
MANAGE_BACKOFFICE_LINK = "controcc_sync.manage_link"
REVIEW_EXCEPTIONS = "actuals.review_exceptions"
TRACK_DEADLINES = "actuals.track_deadlines"
MANAGE_CLOSURE_DAYS = "actuals.manage_closure_days"
HANDLE_THREADS = "disputes.handle_threads"  # the council's inbox: read, reply, assign, answer, start threads
RESOLVE_DISPUTES = "disputes.resolve_disputes"  # a dispute's outcome (it can send money)
MANAGE_TEAMS = "disputes.manage_teams"
MANAGE_CONTENT = "content.manage_content"  # write notices of change and guidance pages
VIEW_ALL_REMITTANCES = (
    "remittances.view_all_remittances"  # every provider's remittance advice (payments team)
)
VIEW_ALL_INVOICES_AND_EXPENSES = "remittances.view_all_invoices_and_expenses"  # children's finance
VIEW_REPORTS = "reports.view_reports"  # council reports, dashboard (payments by period: VIEW_ALL_REMITTANCES)

_PROVIDER_WORK = frozenset(
    {
        VIEW_OWN_CARE_PACKAGE_LINES,
        VIEW_OWN_ACTUALS,
        RECORD_ACTUALS,
        CONFIRM_ACTUALS,
        USE_MESSAGES,
        READ_NOTICES,
        VIEW_GUIDANCE,
        VIEW_OWN_REMITTANCES,
        VIEW_CHILDREN,
        RAISE_INVOICES,
        CLAIM_EXPENSES,
        VIEW_OWN_REPORTS,
    }
)
PROVIDER_PERMISSIONS = _PROVIDER_WORK | {MANAGE_PROVIDER_USERS}

# Work only some kinds of provider do (DOMAIN.md): a children's agency invoices per child, a foster carer
# claims expenses, both see the children placed with them. A role grants these only for those kinds.
_BY_PROVIDER_KIND = frozenset({VIEW_CHILDREN, RAISE_INVOICES, CLAIM_EXPENSES})
PROVIDER_KIND_PERMISSIONS: dict[str, frozenset[str]] = {
    "adult": frozenset(),
    "children": frozenset({VIEW_CHILDREN, RAISE_INVOICES}),
    "foster_carer": frozenset({VIEW_CHILDREN, CLAIM_EXPENSES}),
}

PROVIDER_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "provider_user": _PROVIDER_WORK,
    "provider_administrator": _PROVIDER_WORK | {MANAGE_PROVIDER_USERS},
}

COUNCIL_ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "finance_officer": frozenset(
        {
            VIEW_ALL_CARE_PACKAGE_LINES,
            VIEW_PROVIDERS,
            REVIEW_EXCEPTIONS,
            TRACK_DEADLINES,
            MANAGE_CLOSURE_DAYS,
            HANDLE_THREADS,
            RESOLVE_DISPUTES,
            VIEW_GUIDANCE,
            VIEW_ALL_REMITTANCES,
            VIEW_ALL_INVOICES_AND_EXPENSES,
            VIEW_REPORTS,
        }
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
            HANDLE_THREADS,
            MANAGE_TEAMS,
            VIEW_GUIDANCE,
            MANAGE_CONTENT,
            VIEW_REPORTS,
        }
    ),
}


def permissions_for(user: User, membership: Membership | None) -> frozenset[str]:
    """What this user may do, acting for the provider of `membership` (or for nobody)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    granted = COUNCIL_ROLE_PERMISSIONS.get(user.council_role, frozenset())
    if membership is not None:
        by_role = PROVIDER_ROLE_PERMISSIONS.get(membership.role, frozenset())
        not_for_kind = _BY_PROVIDER_KIND - PROVIDER_KIND_PERMISSIONS.get(
            membership.provider.kind, frozenset()
        )
        granted |= by_role - not_for_kind
    return granted
