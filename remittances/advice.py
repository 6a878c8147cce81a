"""Reading remittance advice: the lists, one remittance's lines as rows (the page, the PDF and the Excel
file show the same rows), its totals, and the financial years of its history.

Every read starts from the provider in use (`for_provider`) or the staff user (`for_staff`). A line names
the person by the back office's reference; the name comes from the provider's own people
(`ServiceUser.objects.for_provider`), so a reference the provider has no care for shows as the reference
only. What a line pays is looked up in the portal the same way: an actual line by its `portal_line_id` and
`version` (its primary key is the `portal_line_id`; the week page shows it), a payment adjustment by its reference among the
provider's own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.apps import apps
from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.urls import reverse

from actuals.models import ActualLine
from portal.accounts.models import User
from portal.formatting import quantity as quantity_text
from portal.money import ZERO
from portal.providers.models import Provider, ServiceUser
from remittances.models import Remittance, RemittanceLine

ADJUSTMENT = RemittanceLine.Kind.ADJUSTMENT
KIND_LABELS = dict(RemittanceLine.Kind.choices)
# The provider's own pages of what an invoice or expense claim line pays: (model name, URL name).
ITEM_PAGES: dict[str, tuple[str, str]] = {
    RemittanceLine.Kind.INVOICE: ("Invoice", "invoice"),
    RemittanceLine.Kind.EXPENSE_CLAIM: ("ExpenseClaim", "expense_claim"),
}


# Lists ------------------------------------------------------------------------------------------


def _with_summary(queryset: QuerySet[Remittance]) -> QuerySet[Remittance]:
    """Each remittance with its number of lines and the period its lines cover (one grouped query)."""
    return queryset.annotate(
        line_count=Count("lines"),
        period_from=Min("lines__period_start"),
        period_to=Max("lines__period_end"),
        adjustments=Count("lines", filter=Q(lines__kind=ADJUSTMENT)),
    ).order_by("-paid_on", "-ref")


def remittances_for_provider(*, provider: Provider) -> QuerySet[Remittance]:
    """The provider's remittances, newest first, every year of them."""
    return _with_summary(Remittance.objects.for_provider(provider))


def remittances_for_staff(*, user: User) -> QuerySet[Remittance]:
    """Every provider's remittances for council staff (nothing for anyone else), newest first."""
    return _with_summary(Remittance.objects.for_staff(user).select_related("provider"))


def remittance_for_provider(*, provider: Provider, ref: str) -> Remittance | None:
    return Remittance.objects.for_provider(provider).select_related("provider").filter(ref=ref).first()


def remittance_for_staff(*, user: User, ref: str) -> Remittance | None:
    return Remittance.objects.for_staff(user).select_related("provider").filter(ref=ref).first()


def remittance_lines(remittance: Remittance) -> QuerySet[RemittanceLine]:
    return RemittanceLine.objects.filter(remittance=remittance).order_by("pk")


# Financial years (April to March) ---------------------------------------------------------------


def financial_year_of(day: dt.date) -> int:
    """The financial year a day falls in, named by the year it starts in: 2026 is 1 April 2026 to
    31 March 2027."""
    return day.year if day.month >= 4 else day.year - 1


def financial_year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 4, 1), dt.date(year + 1, 3, 31)


def financial_year_label(year: int) -> str:
    return f"April {year} to March {year + 1}"


def financial_years(queryset: QuerySet[Remittance]) -> list[int]:
    """The financial years the remittances' payments fall in, newest first (for the year filter)."""
    bounds = queryset.aggregate(first=Min("paid_on"), last=Max("paid_on"))
    if bounds["first"] is None:
        return []
    first, last = financial_year_of(bounds["first"]), financial_year_of(bounds["last"])
    return list(range(last, first - 1, -1))


# One remittance ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdviceTotals:
    lines: int
    services: Decimal  # what was paid for care, invoices and expenses
    adjustments: Decimal  # payment adjustments (signed: negative recovers)
    total: Decimal  # the remittance's total, as the back office paid it

    @property
    def adjustment_lines(self) -> bool:
        return self.adjustments != ZERO


def advice_totals(remittance: Remittance) -> AdviceTotals:
    """The totals, in one query. The inbound sync refused a remittance whose lines did not add up to its
    total, so services + adjustments == total."""
    figures = RemittanceLine.objects.filter(remittance=remittance).aggregate(
        lines=Count("pk"),
        services=Sum("amount", filter=~Q(kind=ADJUSTMENT), default=ZERO),
        adjustments=Sum("amount", filter=Q(kind=ADJUSTMENT), default=ZERO),
    )
    return AdviceTotals(figures["lines"], figures["services"], figures["adjustments"], remittance.total)


@dataclass(frozen=True)
class AdviceRow:
    """One line of a remittance as every view of it shows it."""

    pk: int
    kind: str
    kind_label: str
    person_name: str  # "" when the provider has no care for that reference
    person_ref: str
    service: str
    description: str
    period_start: dt.date | None
    period_end: dt.date | None
    quantity: Decimal
    rate: Decimal
    amount: Decimal
    pays: str  # what it pays, in words
    pays_url: str | None
    source_ref: str

    @property
    def is_adjustment(self) -> bool:
        return self.kind == ADJUSTMENT

    @property
    def person(self) -> str:
        if self.person_name and self.person_ref:
            return f"{self.person_name} ({self.person_ref})"
        return self.person_name or self.person_ref

    @property
    def quantity_text(self) -> str:
        return quantity_text(self.quantity)

    @property
    def period(self) -> str:
        return period_text(self.period_start, self.period_end)


def _week_text(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def advice_rows(*, provider: Provider, lines: Sequence[RemittanceLine], links: bool) -> list[AdviceRow]:
    """`lines` (one remittance's, or a page of them) as rows, in three or four queries whatever their
    number: the provider's people named in them, its actual lines, its payment adjustments, invoices and
    expense claims (each only when some line needs it). `links` is False for council staff (the actuals pages are
    the provider's)."""
    refs = {line.service_user_ref for line in lines if line.service_user_ref}
    names = dict(
        ServiceUser.objects.for_provider(provider).filter(ref__in=refs).values_list("ref", "name")
        if refs
        else []
    )
    actual_ids = {int(line.portal_line_id) for line in lines if line.portal_line_id.isdigit()}
    actuals: dict[int, tuple[dt.date, str, str]] = {}
    if actual_ids:
        for pk, week_start, cpl_ref, service in (
            ActualLine.objects.for_provider(provider)
            .filter(pk__in=actual_ids)
            .values_list(
                "pk", "week__week_start", "care_package_line__ref", "care_package_line__service_type__name"
            )
        ):
            actuals[pk] = (week_start, cpl_ref, service)
    adjustment_refs = {line.portal_ref for line in lines if line.kind == ADJUSTMENT and line.portal_ref}
    threads: dict[str, tuple[int, str]] = {}
    if adjustment_refs:
        from disputes.models import PaymentAdjustment  # disputes owns adjustments; it reads remittances too

        threads = {
            ref: (thread_id, f"{kind[0].upper()}{thread_id:06d}")  # Thread.ref, without loading threads
            for ref, thread_id, kind in PaymentAdjustment.objects.filter(
                provider=provider, portal_ref__in=adjustment_refs
            ).values_list("portal_ref", "thread_id", "thread__kind")
        }
    # (kind, portal reference) → (primary key, the provider's own name for it: an invoice by its number)
    items: dict[tuple[str, str], tuple[int, str]] = {}
    for kind, (model_name, _url) in ITEM_PAGES.items():
        item_refs = {line.portal_ref for line in lines if line.kind == kind and line.portal_ref}
        if item_refs:
            model = apps.get_model("remittances", model_name)
            name_field = "provider_invoice_number" if kind == RemittanceLine.Kind.INVOICE else "portal_ref"
            for ref, pk, name in (
                model.objects.for_provider(provider)
                .filter(portal_ref__in=item_refs)
                .values_list("portal_ref", "pk", name_field)
            ):
                items[(kind, ref)] = (pk, name)
    return [_row(line, names, actuals, threads, items, links=links) for line in lines]


def _row(
    line: RemittanceLine,
    names: dict[str, str],
    actuals: dict[int, tuple[dt.date, str, str]],
    threads: dict[str, tuple[int, str]],
    items: dict[tuple[str, str], tuple[int, str]],
    *,
    links: bool,
) -> AdviceRow:
    kind_label = KIND_LABELS.get(line.kind, line.kind)
    service, pays, url = kind_label, line.source_ref, None
    if line.kind == RemittanceLine.Kind.ACTUAL_LINE and line.portal_line_id:
        version = f", version {line.version}" if line.version else ""
        pays = f"Actual line {line.portal_line_id}{version}"
        found = actuals.get(int(line.portal_line_id)) if line.portal_line_id.isdigit() else None
        if found is not None:
            week_start, cpl_ref, service = found
            pays = f"Week of {_week_text(week_start)}: line {line.portal_line_id}{version}"
            if links:
                query = urlencode({"q": cpl_ref})
                url = f"{reverse('actuals_week', kwargs={'week': week_start})}?{query}#line-{line.portal_line_id}"
    elif line.kind == ADJUSTMENT:
        thread = threads.get(line.portal_ref)
        pays = f"Dispute {thread[1]}" if thread else (line.portal_ref or line.source_ref)
        if thread and links:
            url = reverse("thread", kwargs={"pk": thread[0]})
    elif line.portal_ref:
        pays = f"{kind_label} {line.portal_ref}"
        item = items.get((line.kind, line.portal_ref))
        if item is not None:
            pays = f"{kind_label} {item[1]}"  # the number the agency gave its invoice, as it knows it
            if links:
                url = reverse(ITEM_PAGES[line.kind][1], kwargs={"pk": item[0]})
    return AdviceRow(
        pk=line.pk,
        kind=line.kind,
        kind_label=kind_label,
        person_name=names.get(line.service_user_ref, ""),
        person_ref=line.service_user_ref,
        service=service,
        description=line.description,
        period_start=line.period_start,
        period_end=line.period_end,
        quantity=line.quantity,
        rate=line.rate,
        amount=line.amount,
        pays=pays,
        pays_url=url,
        source_ref=line.source_ref,
    )


def period_text(start: dt.date | None, end: dt.date | None) -> str:
    """ "30 Nov to 6 Dec 2026", "1 Apr 2026", or "" for a line with no period."""
    if start is None and end is None:
        return ""
    if start is None or end is None or start == end:
        day = start or end
        assert day is not None
        return f"{day.day} {day:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} to {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} to {end.day} {end:%b %Y}"
