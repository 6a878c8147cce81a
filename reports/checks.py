"""System checks of the reports' settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register()
def charging_periods_start_on_a_monday(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Charging periods are 4-week blocks of weeks: they must start on a Monday (DOMAIN.md)."""
    start = settings.CHARGING_PERIODS_FROM
    if start.weekday() != 0:
        return [
            Error(
                f"CHARGING_PERIODS_FROM ({start}) is not a Monday.",
                hint="Charging periods are 4-week blocks counted from a Monday: the first day of the "
                "council's financial year's first week.",
                id="reports.E001",
            )
        ]
    return []
