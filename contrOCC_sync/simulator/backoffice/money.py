"""Money and quantities: Decimal, two places, one rounding rule (half up to the penny)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    """Half up to the penny: the one rounding helper."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def round_to_step(value: Decimal, step: Decimal) -> Decimal:
    """To the nearest multiple of `step`, half up."""
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(PENNY)


def fmt(value: Decimal | None) -> str | None:
    """As the API writes money and quantities: a string with two decimals."""
    return None if value is None else str(value.quantize(PENNY))
