"""The reports' small pieces: charging periods, the settings check, the bar chart, sheet names, display."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from reports import periods
from reports.charts import Bar, bar_chart
from reports.checks import charging_periods_start_on_a_monday
from reports.excel import sheet_title
from reports.tables import display, share


def test_charging_periods_are_four_week_blocks_from_the_configured_monday(settings) -> None:
    settings.CHARGING_PERIODS_FROM = dt.date(2026, 4, 6)
    first = periods.charging_period_of(dt.date(2026, 4, 6))
    assert (first.number, first.start, first.end) == (1, dt.date(2026, 4, 6), dt.date(2026, 5, 3))
    assert periods.charging_period_of(dt.date(2026, 5, 3)) == first  # its last Sunday
    assert periods.charging_period_of(dt.date(2026, 5, 4)).number == 2
    before = periods.charging_period_of(dt.date(2026, 4, 5))  # the blocks before count back
    assert (before.number, before.start) == (0, dt.date(2026, 3, 9))
    assert first.weeks == [
        dt.date(2026, 4, 6),
        dt.date(2026, 4, 13),
        dt.date(2026, 4, 20),
        dt.date(2026, 4, 27),
    ]
    assert [p.number for p in periods.charging_periods(first, periods.charging_period_of(dt.date(2026, 7, 1)))] == [
        1, 2, 3, 4,
    ]  # fmt: skip
    assert first.label == "Period 1: 6 Apr 2026 to 3 May 2026"


def test_the_settings_check_refuses_a_start_that_is_not_a_monday(settings) -> None:
    settings.CHARGING_PERIODS_FROM = dt.date(2026, 4, 6)
    assert charging_periods_start_on_a_monday() == []
    settings.CHARGING_PERIODS_FROM = dt.date(2026, 4, 1)
    assert [error.id for error in charging_periods_start_on_a_monday()] == ["reports.E001"]


def test_months_and_weeks() -> None:
    assert periods.months_between(dt.date(2026, 11, 20), dt.date(2027, 2, 1)) == [
        dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1), dt.date(2027, 2, 1),
    ]  # fmt: skip
    assert periods.month_end(dt.date(2028, 2, 1)) == dt.date(2028, 2, 29)
    assert periods.weeks_between(dt.date(2026, 11, 4), dt.date(2026, 11, 16)) == [
        dt.date(2026, 11, 2), dt.date(2026, 11, 9), dt.date(2026, 11, 16),
    ]  # fmt: skip


def test_the_bar_chart_is_a_hidden_picture_with_its_values_written() -> None:
    svg = str(bar_chart([Bar("On time", 2, "2"), Bar("<Late>", 0, "0"), Bar("Missing", 4, "4")]))
    assert svg.startswith('<svg class="report-chart"') and 'aria-hidden="true"' in svg and "style=" not in svg
    assert "&lt;Late&gt;" in svg  # labels are escaped
    widths = [int(w) for w in __import__("re").findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths[2] > widths[0] > widths[1] == 0  # the longest value, the longest bar
    assert str(bar_chart([])).count("<rect") == 0


def test_sheet_names_are_what_excel_accepts() -> None:
    taken: set[str] = set()
    assert sheet_title("By provider / service type: all", taken) == "By provider - service type- all"
    assert sheet_title("By provider / service type: all", taken) == "By provider - service type (2)"
    assert len(sheet_title("x" * 40, taken)) == 31


def test_display_of_values() -> None:
    assert display(Decimal("-61.87"), "money") == "-£61.87"
    assert display(Decimal("0.3333"), "percent") == "33.3%"
    assert display(Decimal("1"), "percent") == "100%"
    assert display(None, "int") == "–"
    assert display(Decimal("18.25"), "quantity") == "18.25"
    assert share(1, 0) is None and share(2, 3) == Decimal("0.6667")
