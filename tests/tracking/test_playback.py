"""The playback's clock and words, without a database."""

from __future__ import annotations

import datetime as dt

from ontrack.tracking.playback import clock_periods, duration_words, stop_words

HOUR_MS = 3600 * 1000


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def test_a_day_without_a_clock_change_has_one_offset_and_abbreviation() -> None:
    start = dt.datetime(2026, 11, 20, 5, tzinfo=dt.UTC)
    periods = clock_periods(start, start + dt.timedelta(days=1), "America/New_York")
    assert periods == [[_ms(start), -5 * HOUR_MS, "EST"]]


def test_the_night_clocks_go_back_the_clock_changes_at_the_second_it_does() -> None:
    # 2026-11-01 in New York: 02:00 EDT (06:00 UTC) becomes 01:00 EST.
    start = dt.datetime(2026, 11, 1, 4, tzinfo=dt.UTC)
    periods = clock_periods(start, start + dt.timedelta(hours=25), "America/New_York")
    change = dt.datetime(2026, 11, 1, 6, tzinfo=dt.UTC)
    assert periods == [
        [_ms(start), -4 * HOUR_MS, "EDT"],
        [_ms(change), -5 * HOUR_MS, "EST"],
    ]


def test_an_unknown_zone_reads_as_utc() -> None:
    start = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
    assert clock_periods(start, start + dt.timedelta(hours=2), "Mars/Olympus") == [
        [_ms(start), 0, "UTC"]
    ]


def test_durations_and_stops_read_in_hours_and_minutes_on_the_offices_clock() -> None:
    assert duration_words(dt.timedelta(minutes=6, seconds=59)) == "6 min"
    assert duration_words(dt.timedelta(hours=1, minutes=5)) == "1 h 05 min"
    start = dt.datetime(2026, 11, 20, 14, 2, tzinfo=dt.UTC)
    words = stop_words(start, start + dt.timedelta(minutes=75), "America/New_York")
    assert words == "Stopped 1 h 15 min, 09:02–10:17 EST"
