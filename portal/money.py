"""Money and quantities: Decimal, GBP, two places, one rounding rule (half up to the penny)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

PENNY = Decimal("0.01")
ZERO = Decimal("0.00")


def round_money(value: Decimal) -> Decimal:
    """Half up to the penny: the one rounding helper for amounts."""
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def round_to_step(value: Decimal, step: Decimal) -> Decimal:
    """To the nearest multiple of `step`, half up (a pro-rated plan, visits rounded to the step)."""
    return ((value / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(PENNY)


def on_step(value: Decimal, step: Decimal) -> bool:
    """Whether `value` is a whole number of `step`s (0.75 h is on a 0.25 h step; 0.8 h is not)."""
    return value % step == 0
