"""Template filters of the reports' pages."""

from __future__ import annotations

from decimal import Decimal

from django import template

from reports.tables import display

register = template.Library()


@register.filter
def percent(value: Decimal | None) -> str:
    """A share (0.875) as a percentage ("87.5%")."""
    return display(value, "percent")
