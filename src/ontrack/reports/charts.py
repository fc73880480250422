"""Server-rendered bar charts: no JavaScript, readable without it, and printable.

A chart is drawn from the same (label, value) pairs as the table printed beside it, so the
picture cannot say something the numbers do not.

Labels and values are HTML text in a grid (``.chart`` in console.css), each bar a small SVG
scaled to its row: a label such as "Newark Field Office enrolled" wraps onto a second line
instead of being cut short, and the text keeps the page's size on a phone, where a whole
chart drawn as one SVG was shrunk to a third of its width.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(pairs: Sequence[tuple[str, float]], *, title: str) -> SafeString:
    """A horizontal bar chart, one bar per pair, scaled to the largest value (100 units)."""
    if not pairs:
        return mark_safe("")
    largest = max((value for _label, value in pairs), default=0) or 1
    parts = [f'<div class="chart" role="img" aria-label="{escape(title)}">']
    for label, value in pairs:
        length = round(100 * value / largest, 1)
        parts.append(
            f'<span class="chart-label">{escape(label)}</span>'
            '<svg class="chart-bar" viewBox="0 0 100 10" preserveAspectRatio="none" '
            f'aria-hidden="true"><rect width="{length}" height="10"></rect></svg>'
            f'<span class="chart-value">{_number(value)}</span>'
        )
    parts.append("</div>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped
