"""Calendar spans of days that the program-wide roll-ups are also summed over, so that a
year reads a few quarters, months and weeks instead of 365 days of rows. Plain dates, no
Django.

The spans nest: a week (days 1-7, 8-14, 15-21 or 22-28 of a month; the 29th to the 31st
belong to no week) lies inside its month, a month inside its quarter, so any range of days
is covered by whole spans taken greedily from its start (``cover``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

DAY = "day"
WEEK = "week"
MONTH = "month"
QUARTER = "quarter"
# Largest first: ``cover`` takes the largest span that starts on a day and fits the range.
SPANS = (QUARTER, MONTH, WEEK)


def _next_month(day: dt.date, months: int = 1) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def span_start(span: str, day: dt.date) -> dt.date | None:
    """The first day of the ``span`` holding ``day`` (None: no week holds the 29th-31st)."""
    if span == DAY:
        return day
    if span == WEEK:
        return None if day.day > 28 else day.replace(day=1 + 7 * ((day.day - 1) // 7))
    if span == MONTH:
        return day.replace(day=1)
    if span == QUARTER:
        return dt.date(day.year, 1 + 3 * ((day.month - 1) // 3), 1)
    raise ValueError(f"unknown span {span!r}")


def span_end(span: str, start: dt.date) -> dt.date:
    """The day after the last day of the ``span`` that starts on ``start``."""
    if span == DAY:
        return start + dt.timedelta(days=1)
    if span == WEEK:
        return start + dt.timedelta(days=7)
    if span == MONTH:
        return _next_month(start)
    if span == QUARTER:
        return _next_month(start, 3)
    raise ValueError(f"unknown span {span!r}")


def cover(first: dt.date, last: dt.date) -> Iterator[tuple[str, dt.date]]:
    """The spans, as (span, first day), that exactly cover the days ``[first, last)``: at
    each day the largest span that starts there and ends by ``last``, else the day."""
    day = first
    while day < last:
        span = next(
            (s for s in SPANS if span_start(s, day) == day and span_end(s, day) <= last), DAY
        )
        yield span, day
        day = span_end(span, day)
