"""Bar charts drawn on the server as inline SVG: no JavaScript, nothing fetched, nothing for the CSP to
allow (presentation attributes only, no style attributes).

A chart is a picture of a table that the page shows beside it, so the SVG is hidden from assistive
technology (`aria-hidden`) and the table is what a screen reader reads. Colours keep 3:1 against white
(WCAG 1.4.11) and each bar has its value written beside it, so nothing is told by colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

BLUE = "#1d70b8"
GREEN = "#00703c"
ORANGE = "#b35900"
RED = "#d4351c"
GREY = "#505a5f"
TEXT = "#0b0c0c"

WIDTH = 640
LABEL_WIDTH = 210
VALUE_WIDTH = 110
GAP = 8
ROW_HEIGHT = 32
BAR_HEIGHT = 20
FONT_SIZE = 14


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal | int
    text: str  # the value as the table beside it writes it
    colour: str = BLUE


def bar_chart(bars: Sequence[Bar], *, testid: str = "chart") -> SafeString:
    """A horizontal bar chart: a row a bar, its label on the left and its value at its end. Negative
    values draw as nothing (their value is still written)."""
    most = max((Decimal(bar.value) for bar in bars), default=Decimal(0))
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH - 2 * GAP
    height = max(1, len(bars)) * ROW_HEIGHT
    rows = []
    for i, bar in enumerate(bars):
        value = max(Decimal(bar.value), Decimal(0))
        length = int(area * value / most) if most > 0 else 0
        top = i * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) // 2
        baseline = i * ROW_HEIGHT + ROW_HEIGHT // 2 + FONT_SIZE // 3
        rows.append(
            (
                LABEL_WIDTH - GAP,
                baseline,
                bar.label,
                LABEL_WIDTH,
                top,
                max(length, 1 if value else 0),
                BAR_HEIGHT,
                bar.colour,
                LABEL_WIDTH + length + GAP,
                baseline,
                bar.text,
            )
        )
    body = format_html_join(
        "",
        '<text x="{}" y="{}" text-anchor="end">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"></rect>'
        '<text x="{}" y="{}">{}</text>',
        rows,
    )
    return format_html(
        '<svg class="report-chart" data-testid="{}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" '
        'width="100%" aria-hidden="true" focusable="false" font-size="{}" fill="{}">'
        '<line x1="{}" y1="0" x2="{}" y2="{}" stroke="{}" stroke-width="1"></line>{}</svg>',
        testid,
        WIDTH,
        height,
        FONT_SIZE,
        TEXT,
        LABEL_WIDTH,
        LABEL_WIDTH,
        height,
        GREY,
        body,
    )
