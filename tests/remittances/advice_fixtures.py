"""Remittances as the inbound sync stores them, for the remittance advice tests (the council fixture's
providers A and B), and reading back the files the portal makes."""

from __future__ import annotations

import datetime as dt
import io
import itertools
from decimal import Decimal
from typing import Any

from pypdf import PdfReader

from actuals.models import ActualLine
from actuals.services import actuals_generate
from portal import clock
from portal.providers.models import Provider
from remittances.models import Remittance, RemittanceLine

D = Decimal
WEEK = dt.date(2026, 11, 23)  # a Monday (the permission matrix's week)
_refs = itertools.count(1)


def remittance(
    provider: Provider,
    lines: list[dict[str, Any]] | None = None,
    *,
    ref: str | None = None,
    paid_on: dt.date = dt.date(2026, 12, 3),
    run: str = "RUN-2026-49",
) -> Remittance:
    """A remittance of `provider` with `lines` (each a RemittanceLine's fields; defaults filled in), its
    total the sum of its lines, as `apply_remittance` stores one."""
    lines = lines if lines is not None else [{}]
    number = next(_refs)
    built = []
    for index, fields in enumerate(lines):
        values = {
            "source_ref": f"SRC-{number}-{index}",
            "kind": RemittanceLine.Kind.ACTUAL_LINE,
            "service_user_ref": "",
            "description": f"Home support, week of 23 Nov 2026: 10.5 hours (line {index})",
            "period_start": WEEK,
            "period_end": WEEK + dt.timedelta(days=6),
            "quantity": D("10.5"),
            "rate": D("23.40"),
            "amount": D("245.70"),
            **fields,
        }
        built.append(values)
    made = Remittance.objects.create(
        ref=ref or f"REM-{number:05d}",
        provider=provider,
        payment_run_ref=run,
        paid_on=paid_on,
        total=sum((values["amount"] for values in built), D("0")),
        received_at=clock.now(),
    )
    RemittanceLine.objects.bulk_create(RemittanceLine(remittance=made, **values) for values in built)
    return made


def generated_line(provider: Provider, week: dt.date = WEEK) -> ActualLine:
    """The provider's one actual line of `week`, generated from its care package line."""
    result = actuals_generate(provider=provider, week_start=week, by=None)
    return result.week.lines.select_related(
        "care_package_line__service_user", "care_package_line__service_type"
    ).get()


def pdf_pages(data: bytes) -> list[str]:
    """The text of each page of a PDF."""
    assert data.startswith(b"%PDF-"), data[:20]
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def flat(text: str) -> str:
    """PDF text with its line breaks as spaces (table cells wrap)."""
    return " ".join(text.split())
