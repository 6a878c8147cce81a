"""Annual statements (issue #8, item 3): a yearly statement of every payment to a provider (foster carers
above all), per financial year, April to March. Made as a PDF by a worker, through the same document
requests as a long remittance's PDF (`remittances.documents`): on request from the statements page, and
for every foster carer by itself when the year closes (`annual_statements_for_closed_year`, beat, 2 April).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string

from portal import clock
from portal.money import ZERO
from portal.providers.models import Provider
from remittances import advice
from remittances.models import DocumentRequest, Remittance, RemittanceLine
from remittances.pdf import Progress, render_pdf


@dataclass(frozen=True)
class YearSummary:
    year: int
    label: str
    remittances: int
    total: Decimal


def statement_years(*, provider: Provider) -> list[YearSummary]:
    """The financial years the provider was paid in, newest first, with what each paid (one query a
    year, a handful at most)."""
    queryset = Remittance.objects.for_provider(provider)
    years = advice.financial_years(queryset)
    summaries = []
    for year in years:
        start, end = advice.financial_year_bounds(year)
        figures = queryset.filter(paid_on__range=(start, end)).aggregate(
            remittances=Count("pk"), total=Sum("total", default=ZERO)
        )
        summaries.append(
            YearSummary(year, advice.financial_year_label(year), figures["remittances"], figures["total"])
        )
    return summaries


def statement_name(*, provider: Provider, financial_year: int) -> str:
    return f"annual-statement-{provider.ref}-{financial_year}-{(financial_year + 1) % 100:02d}.pdf"


def statement_lines(*, provider: Provider, financial_year: int) -> list[RemittanceLine]:
    start, end = advice.financial_year_bounds(financial_year)
    return list(
        RemittanceLine.objects.filter(remittance__provider=provider, remittance__paid_on__range=(start, end))
        .select_related("remittance")
        .order_by("remittance__paid_on", "remittance__ref", "pk")
    )


def annual_statement_context(*, provider: Provider, financial_year: int) -> dict[str, Any]:
    lines = statement_lines(provider=provider, financial_year=financial_year)
    rows = advice.advice_rows(provider=provider, lines=lines, links=False)
    services = sum((line.amount for line in lines if line.kind != RemittanceLine.Kind.ADJUSTMENT), ZERO)
    adjustments = sum((line.amount for line in lines if line.kind == RemittanceLine.Kind.ADJUSTMENT), ZERO)
    start, end = advice.financial_year_bounds(financial_year)
    return {
        "provider": provider,
        "year_label": advice.financial_year_label(financial_year),
        "start": start,
        "end": end,
        "payments": list(zip(lines, rows, strict=True)),
        "remittances": len({line.remittance_id for line in lines}),
        "totals": advice.AdviceTotals(len(lines), services, adjustments, services + adjustments),
        "made_on": clock.today(),
        "council_name": settings.COUNCIL_NAME,
        "service_name": settings.SERVICE_NAME,
        "support_email": settings.PORTAL_SUPPORT_EMAIL,
    }


def annual_statement_pdf(
    *, provider: Provider, financial_year: int, progress: Progress | None = None
) -> tuple[bytes, int]:
    context = annual_statement_context(provider=provider, financial_year=financial_year)
    if progress:
        progress(20, f"Read {len(context['payments']):,} payments; laying out the pages")
    html = render_to_string("remittances/pdf/annual_statement.html", context)
    return render_pdf(html, progress=progress)


def annual_statement_request(*, provider: Provider, financial_year: int, by: Any) -> DocumentRequest:
    from remittances.documents import document_request

    return document_request(
        provider=provider,
        kind=DocumentRequest.Kind.ANNUAL_STATEMENT_PDF,
        financial_year=financial_year,
        by=by,
        file_name=statement_name(provider=provider, financial_year=financial_year),
    )


def annual_statements_for_closed_year() -> int:
    """When a financial year has closed, ask for the statement of every foster carer paid in it (using
    the portal) that has none live; returns how many were asked for. Running it again asks for nothing."""
    today = clock.today()
    year = advice.financial_year_of(today) - 1
    start, end = advice.financial_year_bounds(year)
    carers = Provider.objects.filter(
        Q(kind=Provider.Kind.FOSTER_CARER, portal_enabled=True) & Q(remittances__paid_on__range=(start, end))
    ).distinct()
    asked = 0
    for provider in carers:
        live = (
            DocumentRequest.objects.for_provider(provider)
            .live()
            .filter(kind=DocumentRequest.Kind.ANNUAL_STATEMENT_PDF, subject_key=str(year))
            .exists()
        )
        if not live:
            annual_statement_request(provider=provider, financial_year=year, by=None)
            asked += 1
    return asked
