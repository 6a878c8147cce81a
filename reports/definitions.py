"""Every report: its title, who may run it (one permission, declared here and on its views), its filter
form and the selector that makes it. Pages, downloads and the worker all build a report through
`ReportDefinition.build`, so they cannot disagree.

A council report's scope is the staff user (its selectors start from `for_staff`); a provider report's
is the provider in use (`for_provider`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from portal import permissions
from reports import forms, selectors
from reports.tables import Report

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.providers.models import Provider

Audience = Literal["council", "provider"]


@dataclass(frozen=True)
class Scope:
    """Whose figures: the staff user (council reports) or the provider in use (provider reports)."""

    user: User
    provider: Provider | None = None


@dataclass(frozen=True)
class ReportDefinition:
    key: str
    slug: str  # the URL's segment
    title: str
    summary: str
    audience: Audience
    permission: str
    form_class: type[forms.ReportForm]
    make: Callable[[Scope, dict[str, Any]], Report]

    @property
    def url_name(self) -> str:
        return f"council_report_{self.key}" if self.audience == "council" else f"report_{self.key}"

    @property
    def download_url_name(self) -> str:
        return f"{self.url_name}_download"

    def form(self, data: Any = None) -> forms.ReportForm:
        return self.form_class(data)

    def build(self, scope: Scope, cleaned: dict[str, Any]) -> Report:
        if self.audience == "provider" and scope.provider is None:
            raise ValueError("A provider report needs the provider in use.")
        return self.make(scope, cleaned)


def _provider(scope: Scope) -> Provider:
    assert scope.provider is not None  # build() checked
    return scope.provider


COUNCIL_REPORTS = [
    ReportDefinition(
        "compliance",
        "submission-compliance",
        "Submission compliance",
        "Who confirmed their actuals on time, late or not at all, by week and by provider.",
        "council",
        permissions.VIEW_REPORTS,
        forms.ComplianceForm,
        lambda scope, c: selectors.compliance_report(
            user=scope.user, first=c["first"], last=c["last"], provider=c.get("provider")
        ),
    ),
    ReportDefinition(
        "exceptions",
        "exceptions",
        "Exceptions by rule and outcome",
        "The exceptions on actual lines, by rule and by provider, and what became of each line.",
        "council",
        permissions.VIEW_REPORTS,
        forms.ExceptionsForm,
        lambda scope, c: selectors.exceptions_report(
            user=scope.user,
            first=c["first"],
            last=c["last"],
            provider=c.get("provider"),
            severity=c.get("severity", ""),
        ),
    ),
    ReportDefinition(
        "variance",
        "variance",
        "Variance of actual against plan",
        "Planned against delivered, in units and money, by provider and service type.",
        "council",
        permissions.VIEW_REPORTS,
        forms.VarianceForm,
        lambda scope, c: selectors.variance_report(
            user=scope.user,
            first=c["first"],
            last=c["last"],
            provider=c.get("provider"),
            service_type=c.get("service_type"),
            include_drafts=c.get("lines") == "all",
        ),
    ),
    ReportDefinition(
        "charging",
        "charging-readiness",
        "4-weekly charging readiness",
        "For each charging period, the share of lines confirmed and accepted: whether charging can run.",
        "council",
        permissions.VIEW_REPORTS,
        forms.ChargingForm,
        lambda scope, c: selectors.charging_report(
            user=scope.user, first=c["first"], last=c["last"], provider=c.get("provider")
        ),
    ),
    ReportDefinition(
        "ageing",
        "dispute-and-query-ageing",
        "Dispute and query ageing",
        "Open disputes and queries by age and against their due dates, by team and by type.",
        "council",
        permissions.VIEW_REPORTS,
        forms.AgeingForm,
        lambda scope, c: selectors.ageing_report(
            user=scope.user, team=c.get("team"), kind=c.get("kind", ""), provider=c.get("provider")
        ),
    ),
    ReportDefinition(
        "payments",
        "payments",
        "Payments by period",
        "What the payment runs paid, by month, kind of line and provider.",
        "council",
        # Every provider's payments: the payments team's permission, as for their remittances.
        permissions.VIEW_ALL_REMITTANCES,
        forms.PaymentsForm,
        lambda scope, c: selectors.payments_report(
            user=scope.user, first=c["first"], last=c["last"], provider=c.get("provider")
        ),
    ),
]

PROVIDER_REPORTS = [
    ReportDefinition(
        "actuals",
        "actuals-against-plan",
        "Actuals against plan",
        "What you delivered against the plan, by week, person or service type.",
        "provider",
        permissions.VIEW_OWN_REPORTS,
        forms.ActualsAgainstPlanForm,
        lambda scope, c: selectors.actuals_against_plan_report(
            provider=_provider(scope),
            first=c["first"],
            last=c["last"],
            group=c.get("group", "week"),
            service_type=c.get("service_type"),
            person=c.get("person", ""),
            include_drafts=c.get("lines") != "confirmed",
        ),
    ),
    ReportDefinition(
        "weeks",
        "weeks-outstanding",
        "Weeks outstanding",
        "The weeks still to confirm, and lines the back office rejected.",
        "provider",
        permissions.VIEW_OWN_REPORTS,
        forms.NoFiltersForm,
        lambda scope, c: selectors.weeks_outstanding_report(provider=_provider(scope)),
    ),
    ReportDefinition(
        "payments",
        "payments",
        "Payments and remittances",
        "What you were paid, by month and kind, and each remittance.",
        "provider",
        permissions.VIEW_OWN_REPORTS,
        forms.ProviderPaymentsForm,
        lambda scope, c: selectors.provider_payments_report(
            provider=_provider(scope), first=c["first"], last=c["last"]
        ),
    ),
    ReportDefinition(
        "threads",
        "disputes-and-queries",
        "Disputes and queries",
        "Your open disputes and queries against their due dates, and those resolved.",
        "provider",
        permissions.VIEW_OWN_REPORTS,
        forms.ProviderThreadsForm,
        lambda scope, c: selectors.provider_threads_report(provider=_provider(scope), kind=c.get("kind", "")),
    ),
]

REPORTS: dict[tuple[Audience, str], ReportDefinition] = {
    (definition.audience, definition.key): definition for definition in COUNCIL_REPORTS + PROVIDER_REPORTS
}


def report_definition(audience: Audience, key: str) -> ReportDefinition:
    return REPORTS[(audience, key)]
