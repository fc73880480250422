"""The calendar spans the program-wide roll-ups are summed over: any range of days is
covered exactly, without gaps or overlaps, by whole spans, as few as the calendar allows."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from ontrack.reports.rollups.spans import DAY, MONTH, QUARTER, WEEK, cover, span_end, span_start


@given(
    first=st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 1, 1)),
    length=st.integers(min_value=0, max_value=800),
)
def test_a_range_of_days_is_covered_exactly_by_whole_spans(first: dt.date, length: int) -> None:
    last = first + dt.timedelta(days=length)
    day = first
    for span, start in cover(first, last):
        assert start == day, "each span starts where the last ended"
        assert span_start(span, start) == start, f"{span} {start} is a whole span"
        day = span_end(span, start)
    assert day == last


def test_a_year_not_on_the_calendar_reads_quarters_months_weeks_and_few_days() -> None:
    spans = list(cover(dt.date(2025, 1, 5), dt.date(2026, 1, 5)))
    assert spans == [
        (DAY, dt.date(2025, 1, 5)), (DAY, dt.date(2025, 1, 6)), (DAY, dt.date(2025, 1, 7)),
        (WEEK, dt.date(2025, 1, 8)), (WEEK, dt.date(2025, 1, 15)), (WEEK, dt.date(2025, 1, 22)),
        (DAY, dt.date(2025, 1, 29)), (DAY, dt.date(2025, 1, 30)), (DAY, dt.date(2025, 1, 31)),
        (MONTH, dt.date(2025, 2, 1)), (MONTH, dt.date(2025, 3, 1)),
        (QUARTER, dt.date(2025, 4, 1)), (QUARTER, dt.date(2025, 7, 1)),
        (QUARTER, dt.date(2025, 10, 1)),
        (DAY, dt.date(2026, 1, 1)), (DAY, dt.date(2026, 1, 2)), (DAY, dt.date(2026, 1, 3)),
        (DAY, dt.date(2026, 1, 4)),
    ]  # fmt: skip


def test_the_29th_to_the_31st_are_in_no_week() -> None:
    assert span_start(WEEK, dt.date(2025, 1, 28)) == dt.date(2025, 1, 22)
    assert span_start(WEEK, dt.date(2025, 1, 29)) is None
    assert span_start(QUARTER, dt.date(2025, 12, 31)) == dt.date(2025, 10, 1)
    assert span_end(QUARTER, dt.date(2025, 10, 1)) == dt.date(2026, 1, 1)
