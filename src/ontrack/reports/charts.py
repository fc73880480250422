"""Server-rendered SVG bar charts: no JavaScript, readable without it, and printable.

A chart is drawn from the same (label, value) pairs as the table printed beside it, so the
picture cannot say something the numbers do not.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR_HEIGHT = 18
GAP = 6
LABEL_WIDTH = 170
BAR_WIDTH = 240
VALUE_WIDTH = 70


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart_svg(pairs: Sequence[tuple[str, float]], *, title: str) -> SafeString:
    """A horizontal bar chart, one bar per pair, scaled to the largest value."""
    if not pairs:
        return mark_safe("")
    largest = max((value for _label, value in pairs), default=0) or 1
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    height = len(pairs) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for index, (label, value) in enumerate(pairs):
        y = GAP + index * (BAR_HEIGHT + GAP)
        length = round(BAR_WIDTH * value / largest, 1)
        text_y = y + BAR_HEIGHT - 5
        short = label if len(label) <= 26 else label[:25] + "…"
        parts.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{text_y}" text-anchor="end" '
            f'font-size="12">{escape(short)}</text>'
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length}" height="{BAR_HEIGHT}" '
            f'fill="#3b6ea5"><title>{escape(label)}: {_number(value)}</title></rect>'
            f'<text x="{LABEL_WIDTH + length + 4}" y="{text_y}" font-size="12">'
            f"{_number(value)}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped
