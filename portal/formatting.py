"""How money and quantities are written on pages, in emails and in files: one place for each."""

from __future__ import annotations

from decimal import Decimal


def money(value: Decimal | None) -> str:
    """£1,234.50 — amounts are Decimals already rounded to the penny."""
    if value is None:
        return "–"
    sign = "-" if value < 0 else ""
    return f"{sign}£{abs(value):,.2f}"


def quantity(value: Decimal | None) -> str:
    """A quantity without trailing zeros: 7.25, 3, 0.5."""
    if value is None:
        return "–"
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
