"""Remittance advice benchmark (issue #8, "Speed"): the PDF of a remittance with 1,000 lines against
WeasyPrint laying out a bare table of the same rows, in the same run.

The remittance is the biggest provider's (PRV00001, 2,400 care package lines in the `large` council): 1,000
lines, each for one of its people and paying one of its actual lines of a week the benchmark generates,
with 20 payment adjustments among them, as the inbound sync would store them. Everything the benchmark
makes is inside one transaction that is rolled back at the end, so the database stays as seeded for the
other benchmarks (and `--reuse-db`).

Our operation is `remittance_pdf`: the lines, the people's names and the actual lines they pay read from
PostgreSQL, the template rendered (letterhead, the provider's details, the table with its repeated header,
the totals), the stylesheet and logo fetched through the static-only URL fetcher, laid out with page
numbers and written. The floor is WeasyPrint's own `HTML(string=...).write_pdf()` of a bare `<table>` of
the same rows (the same seven cells' text a row, a header row), with no stylesheet: what any PDF of those
rows costs.
"""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from typing import Any

from tests.benchmarks.harness import Goal, Samples, benchmark, time_against_floor

ISSUE_8 = "issue 8, “Speed”"
LINES = 1_000
PROVIDER = "PRV00001"
WEEK = dt.date(2026, 10, 26)  # a Monday before the seeded "today" that no other benchmark generates
ADJUSTMENT_EVERY = 50


class _RolledBack(Exception):
    pass


def _remittance(provider: Any) -> Any:
    """A remittance of LINES lines paying the week's actual lines (made inside the caller's transaction)."""
    from actuals.models import ActualLine
    from actuals.services import actuals_generate
    from portal import clock
    from remittances.models import Remittance, RemittanceLine

    actuals_generate(provider=provider, week_start=WEEK, by=None)
    lines = list(
        ActualLine.objects.for_provider(provider)
        .filter(week__week_start=WEEK)
        .select_related("care_package_line__service_user", "care_package_line__service_type")
        .order_by("pk")[:LINES]
    )
    assert len(lines) == LINES, f"{len(lines)} actual lines, not {LINES}"
    built = []
    for index, line in enumerate(lines):
        cpl = line.care_package_line
        if index % ADJUSTMENT_EVERY == ADJUSTMENT_EVERY - 1:
            built.append(
                RemittanceLine(
                    source_ref=f"BENCH-ADJ-{index}",
                    kind="adjustment",
                    portal_ref=f"ADJ-BENCH-{index}",
                    service_user_ref=cpl.service_user.ref,
                    description="Adjustment: extra visit agreed in a dispute",
                    quantity=Decimal("1"),
                    rate=Decimal("-12.50"),
                    amount=Decimal("-12.50"),
                )
            )
            continue
        unit = cpl.service_type.unit
        built.append(
            RemittanceLine(
                source_ref=f"BENCH-AL-{line.pk}",
                kind="actual_line",
                portal_line_id=str(line.pk),
                version=1,
                service_user_ref=cpl.service_user.ref,
                description=f"{cpl.service_type.name}, week of {WEEK:%d %b %Y}: {line.planned.normalize():f} {unit}",
                period_start=WEEK,
                period_end=WEEK + dt.timedelta(days=6),
                quantity=line.planned,
                rate=line.rate,
                amount=line.amount,
            )
        )
    remittance = Remittance.objects.create(
        ref="REM-BENCH-1000",
        provider=provider,
        payment_run_ref="RUN-BENCH",
        paid_on=dt.date(2026, 11, 5),
        total=sum((line.amount for line in built), Decimal("0")),
        received_at=clock.now(),
    )
    for made in built:
        made.remittance = remittance
    RemittanceLine.objects.bulk_create(built)
    return remittance


def _bare_table(remittance: Any) -> str:
    """The same rows' text in a bare table (read untimed, through the same row builder)."""
    from remittances import advice

    rows = advice.advice_rows(
        provider=remittance.provider, lines=list(advice.remittance_lines(remittance)), links=False
    )
    head = "".join(
        f"<th>{h}</th>" for h in ("Person", "Service", "Period", "Quantity", "Rate", "Amount", "Pays")
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{html.escape(str(cell))}</td>"
            for cell in (
                f"{row.person_name} {row.person_ref}",
                f"{row.service} {row.description}",
                row.period,
                row.quantity_text,
                row.rate,
                row.amount,
                row.pays,
            )
        )
        + "</tr>"
        for row in rows
    )
    return f"<!DOCTYPE html><html><body><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>"


@benchmark(
    name="remittance PDF, 1,000 lines",
    unit="ms",
    what="remittance_pdf of a 1,000-line remittance of PRV00001 (980 actual lines, 20 adjustments): lines, "
    "people and the actual lines they pay read from PostgreSQL, the template rendered, the stylesheet and "
    "logo through the static-only fetcher, laid out (letterhead, repeated table header, totals, page "
    "numbers) and written",
    floor="WeasyPrint writing a bare <table> of the same 1,000 rows (the same seven cells' text, a header "
    "row, no stylesheet) to PDF",
    goals=[Goal(1.5, source=f"{ISSUE_8}: “the PDF of a remittance with 1,000 lines ≤ 1.5× a bare table”")],
    timeout_seconds=900,
)
def remittance_pdf_1000(repetitions: int) -> Samples:
    from django.db import transaction
    from weasyprint import HTML

    from portal.providers.models import Provider
    from remittances.pdf import remittance_pdf

    provider = Provider.objects.get(ref=PROVIDER)
    samples: Samples | None = None
    try:
        with transaction.atomic():
            remittance = _remittance(provider)
            bare = _bare_table(remittance)
            ours_bytes, ours_pages = remittance_pdf(remittance=remittance)
            floor_bytes = HTML(string=bare).write_pdf()
            samples = time_against_floor(
                lambda: remittance_pdf(remittance=remittance),
                lambda: HTML(string=bare).write_pdf(),
                repetitions=repetitions,
                warmup=1,
                budget_seconds=240,
            )
            samples.notes.append(
                f"ours: {ours_pages} pages, {len(ours_bytes):,} bytes; the bare table: {len(floor_bytes):,} bytes"
            )
            raise _RolledBack
    except _RolledBack:
        pass
    assert samples is not None
    return samples
